"""API for the person pictured and the face registry (do-not-generate, send-to-me): tokens in emailed links are the
capabilities; no account.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from . import selectors, signing
from .models import PURPOSES, RegistryEntry
from .selectors import consent_get, registry_entry_get, registry_entry_get_by_remove_token
from .services import (
    consent_challenge_issue,
    consent_decide,
    consent_erase,
    consent_receipt,
    consent_revoke,
    consent_text,
    registry_confirm,
    registry_entry_start,
)
from .throttling import CaptureRateThrottle


class _SubjectApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "consent_subject"


class ConsentStatusOutput(serializers.Serializer):
    status = serializers.CharField()


class ChallengeOutput(serializers.Serializer):
    id = serializers.CharField()
    instructions = serializers.CharField()
    turns = serializers.ListField(child=serializers.CharField())
    digits = serializers.CharField()
    expires_at = serializers.DateTimeField(
        required=False, help_text="consent links only: when it can no longer be answered"
    )


class ConsentTextOutput(serializers.Serializer):
    version = serializers.CharField()
    text = serializers.CharField()
    sha256 = serializers.CharField()


class ConsentRequestViewOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    requester = serializers.CharField(help_text="the creator's account name")
    requester_name = serializers.CharField(help_text="the name and organisation the creator gave, or the account name")
    requester_message = serializers.CharField(help_text="the creator's message to the person (not checked by Candor)")
    portrait = serializers.DictField()
    requested_scope = serializers.DictField()
    link_expires_at = serializers.DateTimeField()
    consent_text = ConsentTextOutput()
    challenge = ChallengeOutput()


class ConsentEventOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    details = serializers.DictField()
    created_at = serializers.DateTimeField()
    entry_hash = serializers.CharField()
    signature = serializers.CharField()


class _CaptureApi(_SubjectApi):
    throttle_classes = [ScopedRateThrottle, CaptureRateThrottle]


class ConsentSubjectApi(_CaptureApi):
    class ConsentDecisionInput(serializers.Serializer):
        capture = serializers.FileField(required=False, allow_empty_file=True)
        challenge_id = serializers.CharField(max_length=64)
        full_name = serializers.CharField(max_length=200)
        decision = serializers.ChoiceField(choices=["approve", "decline"])
        purposes = serializers.ListField(child=serializers.ChoiceField(choices=PURPOSES), required=False)
        languages = serializers.ListField(child=serializers.CharField(max_length=16), required=False)
        expires_at = serializers.DateTimeField(required=False)
        consent_text_sha256 = serializers.CharField(max_length=64, required=False)
        allow_label_removal = serializers.BooleanField(
            required=False, default=False, help_text="the person allows videos without the visible AI label"
        )

    @extend_schema(responses=ConsentRequestViewOutput)
    def get(self, request, token):
        consent = consent_get(token=token)
        challenge = consent_challenge_issue(consent=consent)
        text = consent_text(consent)
        return Response(
            {
                "id": str(consent.id),
                "status": consent.status,
                "requester": consent.requested_by.username,
                "requester_name": consent.requester_display,
                "requester_message": consent.requester_message,
                "portrait": {"id": str(consent.portrait_id), "subject_name": consent.portrait.subject_name},
                "requested_scope": {
                    "purposes": consent.requested_purposes,
                    "languages": consent.requested_languages,
                    "expires_at": consent.requested_expires_at,
                    "max_renders": consent.requested_max_renders,
                },
                "link_expires_at": consent.link_expires_at,
                "consent_text": {"version": text.version, "text": text.text, "sha256": text.sha256},
                "challenge": challenge,
            }
        )

    @extend_schema(request=ConsentDecisionInput, responses=ConsentStatusOutput)
    def post(self, request, token):
        consent = consent_get(token=token)
        serializer = self.ConsentDecisionInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        capture = data.get("capture")
        consent = consent_decide(
            consent=consent,
            decision=data["decision"],
            challenge_id=data["challenge_id"],
            full_name=data["full_name"],
            capture=capture.read() if capture is not None else None,
            purposes=data.get("purposes"),
            languages=data.get("languages"),
            expires_at=data.get("expires_at"),
            consent_text_sha256=data.get("consent_text_sha256"),
            allow_label_removal=data["allow_label_removal"],
        )
        return Response({"status": consent.status})


class ConsentReceiptApi(_SubjectApi):
    @extend_schema(responses=dict)
    def get(self, request, token):
        return Response(consent_receipt(consent=consent_get(token=token)))


class ConsentEventsApi(_SubjectApi):
    @extend_schema(responses=ConsentEventOutput(many=True))
    def get(self, request, token):
        events = selectors.consent_events_list(consent=consent_get(token=token))
        return Response(ConsentEventOutput(events, many=True).data)


class ConsentPublicKeyApi(_SubjectApi):
    class PublicKeyOutput(serializers.Serializer):
        algorithm = serializers.CharField()
        key_id = serializers.CharField()
        public_key_pem = serializers.CharField()

    @extend_schema(responses=PublicKeyOutput)
    def get(self, request):
        return Response(
            {"algorithm": signing.ALGORITHM, "key_id": signing.key_id(), "public_key_pem": signing.public_key_pem()}
        )


class ConsentRevokeApi(_SubjectApi):
    @extend_schema(request=None, responses=ConsentStatusOutput)
    def post(self, request, revoke_token):
        consent = consent_revoke(revoke_token=revoke_token)
        return Response({"status": consent.status})


class ConsentEraseApi(_SubjectApi):
    @extend_schema(request=None, responses=ConsentStatusOutput)
    def post(self, request, revoke_token):
        consent_erase(revoke_token=revoke_token)
        return Response({"status": "erased"})


class RegistryHoldApi(APIView):
    """The creator's view of an upload the registry held for review: its outcome, and the portrait if released."""

    class RegistryHoldOutput(serializers.Serializer):
        id = serializers.UUIDField()
        status = serializers.CharField()
        created_at = serializers.DateTimeField()
        reviewed_at = serializers.DateTimeField(allow_null=True)
        portrait = serializers.UUIDField(source="portrait_id", allow_null=True)

    @extend_schema(responses=RegistryHoldOutput)
    def get(self, request, hold_id):
        return Response(self.RegistryHoldOutput(selectors.registry_hold_get(owner=request.user, hold_id=hold_id)).data)


class RegistryOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=RegistryEntry.Kind.choices)
    status = serializers.CharField()


def _registry_json(entry: RegistryEntry) -> dict:
    return {"id": str(entry.id), "kind": entry.kind, "status": entry.status}


class RegistryStartApi(_SubjectApi):
    class RegistryStartInput(serializers.Serializer):
        email = serializers.EmailField()
        kind = serializers.ChoiceField(choices=RegistryEntry.Kind.choices, default=RegistryEntry.Kind.DO_NOT_GENERATE)

    @extend_schema(request=RegistryStartInput, responses={201: RegistryOutput})
    def post(self, request):
        serializer = self.RegistryStartInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = registry_entry_start(**serializer.validated_data)
        return Response(_registry_json(entry), status=status.HTTP_201_CREATED)


class RegistryEntryApi(_SubjectApi):
    @extend_schema(responses=RegistryOutput)
    def get(self, request, entry_id):
        entry = registry_entry_get(entry_id=entry_id)
        return Response(_registry_json(entry))


class RegistryConfirmApi(_SubjectApi):
    @extend_schema(request=None, responses=RegistryOutput)
    def post(self, request, confirm_token):
        entry = registry_confirm(confirm_token=confirm_token)
        return Response(_registry_json(entry))


class RegistryRemoveApi(_SubjectApi):
    @extend_schema(responses=RegistryOutput)
    def get(self, request, remove_token):
        return Response(_registry_json(registry_entry_get_by_remove_token(remove_token=remove_token)))
