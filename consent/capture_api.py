"""The live capture's API: open a capture on a consent link or a registry entry, stream its chunks, finish it.

The same three calls serve the three subjects (`<base>` below): a consent link (`/api/consent/<token>`), a
registration (`/api/registry/<entry_id>`) and a removal (`/api/registry/remove/<remove_token>`). See docs/consent.md
("Live capture protocol") for the whole exchange.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ApplicationError, ErrorCode

from .models import PURPOSES, Consent, LiveCapture, RegistryEntry
from .selectors import consent_get, registry_entry_get, registry_entry_get_by_remove_token
from .services import (
    capture_done,
    consent_approve_live,
    consent_link_check_open,
    live_capture_chunk,
    live_capture_open,
    prompts_revealed,
    registry_capture_submit,
    registry_remove,
)
from .services.live import MAX_CAPTURE_BYTES, MAX_CHUNK_BYTES, TIMESLICE_MS
from .throttling import CaptureRateThrottle

_SUBJECT_ROUTES = {
    LiveCapture.Purpose.CONSENT: "api-consent-captures",
    LiveCapture.Purpose.REGISTRY_REGISTER: "api-registry-captures",
    LiveCapture.Purpose.REGISTRY_REMOVE: "api-registry-remove-captures",
}


@dataclass(frozen=True)
class _Subject:
    purpose: str
    key: str  # the token or id in the URL
    consent: Consent | None = None
    registration: RegistryEntry | None = None


def _subject(kwargs: dict) -> _Subject:
    """The consent link or registry entry named in the URL, checked to accept a live capture now."""
    if "token" in kwargs:
        consent = consent_get(token=kwargs["token"])
        consent_link_check_open(consent)
        return _Subject(LiveCapture.Purpose.CONSENT, kwargs["token"], consent=consent)
    if "remove_token" in kwargs:
        entry = registry_entry_get_by_remove_token(remove_token=kwargs["remove_token"])
        wanted, purpose, key = RegistryEntry.Status.ACTIVE, LiveCapture.Purpose.REGISTRY_REMOVE, kwargs["remove_token"]
    else:
        entry = registry_entry_get(entry_id=kwargs["entry_id"])
        wanted, purpose, key = RegistryEntry.Status.CAPTURE_PENDING, LiveCapture.Purpose.REGISTRY_REGISTER, None
    if entry.status != wanted:
        raise ApplicationError(ErrorCode.LINK_USED, f"this registration is {entry.status}")
    return _Subject(purpose, key or str(entry.id), registration=entry)


def _capture(subject: _Subject, capture_id) -> LiveCapture:
    capture = LiveCapture.objects.filter(
        id=capture_id, purpose=subject.purpose, consent=subject.consent, registration=subject.registration
    ).first()
    if capture is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "no such live check on this link")
    return capture


def _capture_url(subject: _Subject, suffix: str, capture: LiveCapture) -> str:
    base = reverse(_SUBJECT_ROUTES[LiveCapture.Purpose(subject.purpose)], args=[subject.key])
    return f"{base}{capture.id}/{suffix}"


class _LiveApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []


class PromptOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="turn, flash, digits or done")
    value = serializers.CharField(required=False, help_text="turn: left/right/up/down (your own); digits: to read")
    colours = serializers.ListField(child=serializers.CharField(), required=False, help_text="flash: #rrggbb each")
    durations_ms = serializers.ListField(child=serializers.IntegerField(), required=False)
    revealed_s = serializers.FloatField(help_text="seconds after chunk 0 arrived when this prompt was first sent")


class CaptureOpenOutput(serializers.Serializer):
    id = serializers.UUIDField()
    chunks_url = serializers.CharField(help_text="POST each chunk to chunks_url + '<seq>/', seq = 0, 1, 2, ...")
    finish_url = serializers.CharField()
    expires_at = serializers.DateTimeField()
    timeslice_ms = serializers.IntegerField()
    max_chunk_bytes = serializers.IntegerField()
    max_bytes = serializers.IntegerField()
    prompts = PromptOutput(many=True)


class ChunkOutput(serializers.Serializer):
    seq = serializers.IntegerField()
    elapsed_s = serializers.FloatField()
    prompts = PromptOutput(many=True)
    done = serializers.BooleanField(help_text="stop recording, send what is left, then POST finish_url")


class CaptureOpenApi(_LiveApi):
    throttle_classes = [CaptureRateThrottle]

    @extend_schema(request=None, responses={201: CaptureOpenOutput})
    def post(self, request, **kwargs):
        subject = _subject(kwargs)
        capture = live_capture_open(purpose=subject.purpose, consent=subject.consent, registration=subject.registration)
        return Response(
            {
                "id": str(capture.id),
                "chunks_url": _capture_url(subject, "chunks/", capture),
                "finish_url": _capture_url(subject, "finish/", capture),
                "expires_at": capture.expires_at,
                "timeslice_ms": TIMESLICE_MS,
                "max_chunk_bytes": MAX_CHUNK_BYTES,
                "max_bytes": MAX_CAPTURE_BYTES,
                "prompts": [],
            },
            status=status.HTTP_201_CREATED,
        )


class _RawParser(BaseParser):
    """A chunk's body as it is: WebM or fragmented MP4 bytes from MediaRecorder."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        return stream.read(MAX_CHUNK_BYTES + 1) if stream is not None else b""


class CaptureChunkApi(_LiveApi):
    parser_classes = [_RawParser]

    @extend_schema(
        request={"video/webm": bytes, "video/mp4": bytes, "application/octet-stream": bytes},
        responses=ChunkOutput,
        parameters=[OpenApiParameter("seq", int, OpenApiParameter.PATH, description="0, 1, 2, ... in order")],
    )
    def post(self, request, capture_id, seq, **kwargs):
        subject = _subject(kwargs)
        capture = live_capture_chunk(capture=_capture(subject, capture_id), seq=seq, data=request.data or b"")
        return Response(
            {
                "seq": seq,
                "elapsed_s": capture.arrivals[-1][1],
                "prompts": prompts_revealed(capture),
                "done": capture_done(capture),
            }
        )


class ConsentFinishInput(serializers.Serializer):
    full_name = serializers.CharField(max_length=200)
    purposes = serializers.ListField(child=serializers.ChoiceField(choices=PURPOSES), required=False)
    languages = serializers.ListField(child=serializers.CharField(max_length=16), required=False)
    expires_at = serializers.DateTimeField(required=False)
    consent_text_sha256 = serializers.CharField(max_length=64, required=False)
    allow_label_removal = serializers.BooleanField(
        required=False, default=False, help_text="the person allows videos without the visible AI label"
    )


class CaptureFinishOutput(serializers.Serializer):
    status = serializers.CharField(help_text="consent: active or awaiting_review; registry: the entry's status")
    id = serializers.UUIDField(required=False, help_text="registry entries only")
    kind = serializers.CharField(required=False, help_text="registry entries only")


class CaptureFinishApi(_LiveApi):
    @extend_schema(request=ConsentFinishInput, responses=CaptureFinishOutput)
    def post(self, request, capture_id, **kwargs):
        subject = _subject(kwargs)
        capture = _capture(subject, capture_id)
        if subject.consent is not None:
            serializer = ConsentFinishInput(data=request.data)
            serializer.is_valid(raise_exception=True)
            consent = consent_approve_live(consent=subject.consent, capture=capture, **serializer.validated_data)
            return Response({"status": consent.status})
        assert subject.registration is not None
        if subject.purpose == LiveCapture.Purpose.REGISTRY_REMOVE:
            entry = registry_remove(entry=subject.registration, capture=capture)
        else:
            entry = registry_capture_submit(entry=subject.registration, capture=capture)
        return Response({"id": str(entry.id), "kind": entry.kind, "status": entry.status})
