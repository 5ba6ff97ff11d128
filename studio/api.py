"""REST API for creators: portraits, consent requests and renders (token or session auth)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.http import FileResponse, HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from consent import selectors as consent_selectors
from consent.api import ConsentEventOutput
from consent.models import PURPOSES, Purpose
from consent.services import ROUTED_NOTICE, consent_request_create
from core.http import public_url
from core.languages import language_check
from inference.framing import ASPECT_RATIOS, BACKGROUND_BLUR, LONG_SIDE_MAX, LONG_SIDE_MIN
from provenance.label import LABEL_CORNERS

from . import selectors, services, sharing
from .models import Portrait, Render
from .validators import SUBJECT_NAME_MAX_CHARS, subject_name_validate
from .voices import render_voice_name, voices_of_language


def _paginated(request, view, queryset, output_class) -> Response:
    paginator = PageNumberPagination()
    page: list[Any] | None = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(output_class(page, many=True, context={"request": request}).data)


def page_of(output_class) -> serializers.Serializer:
    """The schema of one page of `output_class` items, as `_paginated` answers."""
    return inline_serializer(
        name=f"Paginated{output_class.__name__}List",
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": output_class(many=True),
        },
    )


def _validated(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PortraitOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.SerializerMethodField()
    previews_left = serializers.SerializerMethodField(
        help_text="one-second previews the active consent still allows (null without one)"
    )
    subject_name = serializers.CharField()
    face = serializers.SerializerMethodField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    created_at = serializers.DateTimeField()

    def get_status(self, portrait: Portrait) -> str:
        return consent_selectors.consent_state_get(portrait=portrait)

    def get_previews_left(self, portrait: Portrait) -> int | None:
        active = consent_selectors.consent_active_get(portrait=portrait)
        return None if active is None else consent_selectors.consent_previews_left(active)

    def get_face(self, portrait: Portrait) -> dict:
        return {"box": portrait.face_box}


class PortraitsApi(APIView):
    class PortraitCreateInput(serializers.Serializer):
        image = serializers.FileField(allow_empty_file=True)
        subject_name = serializers.CharField(max_length=SUBJECT_NAME_MAX_CHARS, validators=[subject_name_validate])
        subject_email = serializers.EmailField()
        face = serializers.IntegerField(
            required=False,
            allow_null=True,
            default=None,
            min_value=0,
            help_text="with several faces in the photo: the one to keep (0 = leftmost); the portrait is cropped to it",
        )

    @extend_schema(operation_id="portraits_list", responses=page_of(PortraitOutput))
    def get(self, request):
        return _paginated(request, self, selectors.portrait_list(owner=request.user), PortraitOutput)

    @extend_schema(request=PortraitCreateInput, responses={201: PortraitOutput})
    def post(self, request):
        data = _validated(self.PortraitCreateInput, request.data)
        portrait = services.portrait_create(
            owner=request.user,
            image=data["image"],
            subject_name=data["subject_name"],
            subject_email=data["subject_email"],
            face_index=data["face"],
        )
        return Response(PortraitOutput(portrait).data, status=status.HTTP_201_CREATED)


class PortraitDetailApi(APIView):
    @extend_schema(responses=PortraitOutput)
    def get(self, request, portrait_id):
        return Response(PortraitOutput(selectors.portrait_get(owner=request.user, portrait_id=portrait_id)).data)


class ConsentRequestCreateApi(APIView):
    class ConsentRequestInput(serializers.Serializer):
        purposes = serializers.ListField(child=serializers.ChoiceField(choices=PURPOSES), required=False)
        languages = serializers.ListField(child=serializers.CharField(max_length=16), required=False)
        expires_at = serializers.DateTimeField(required=False)
        max_renders = serializers.IntegerField(required=False, min_value=1)
        requester_name = serializers.CharField(required=False, max_length=200, allow_blank=True)
        organisation = serializers.CharField(required=False, max_length=200, allow_blank=True)
        message = serializers.CharField(required=False, max_length=1000, allow_blank=True)

    class ConsentRequestOutput(serializers.Serializer):
        id = serializers.UUIDField()
        status = serializers.CharField()
        requested_purposes = serializers.ListField()
        requested_languages = serializers.ListField()
        requested_expires_at = serializers.DateTimeField()
        requested_max_renders = serializers.IntegerField(allow_null=True)
        link_expires_at = serializers.DateTimeField()
        routed = serializers.BooleanField(
            help_text="true when the face matched a send-to-me registration: the link went to the address the person "
            "registered, not to subject_email"
        )
        sent_to = serializers.SerializerMethodField()

        def get_sent_to(self, consent) -> str:
            return ROUTED_NOTICE if consent.routed else consent.portrait.subject_email

    @extend_schema(request=ConsentRequestInput, responses={201: ConsentRequestOutput})
    def post(self, request, portrait_id):
        portrait = selectors.portrait_get(owner=request.user, portrait_id=portrait_id)
        data = _validated(self.ConsentRequestInput, request.data)
        consent = consent_request_create(portrait=portrait, requested_by=request.user, **data)
        return Response(self.ConsentRequestOutput(consent).data, status=status.HTTP_201_CREATED)


class RenderOutput(serializers.Serializer):
    id = serializers.UUIDField()
    portrait = serializers.UUIDField(source="portrait_id")
    purpose = serializers.CharField()
    language = serializers.CharField()
    voice = serializers.CharField()
    voice_name = serializers.SerializerMethodField()
    expression = serializers.CharField()
    status = serializers.CharField()
    progress = serializers.FloatField()
    video_url = serializers.SerializerMethodField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    duration_s = serializers.FloatField(allow_null=True)
    title = serializers.CharField()
    aspect_ratio = serializers.CharField()
    long_side = serializers.IntegerField(allow_null=True)
    background = serializers.CharField()

    def get_voice_name(self, render: Render) -> str:
        """The voice as the pages name it ("English (America), female 3"); empty for an uploaded recording."""
        return render_voice_name(render)

    def get_video_url(self, render: Render) -> str | None:
        if render.status != Render.Status.DONE or not render.video:
            return None
        return self.context["request"].build_absolute_uri(reverse("api-render-video", args=[render.id]))


class SpeechInput(serializers.Serializer):
    """What a video says and of whom: a render's input, and a preview's."""

    portrait = serializers.UUIDField()
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    text = serializers.CharField(required=False, allow_blank=True, max_length=5000, trim_whitespace=True)
    language = serializers.CharField(
        required=False, allow_blank=True, max_length=16, help_text="of the text, or spoken in the audio"
    )
    voice = serializers.CharField(
        required=False, allow_blank=True, max_length=40, help_text="with text: one of GET /api/voices/"
    )
    audio = serializers.FileField(required=False, allow_empty_file=True)
    transcript = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=5000,
        help_text="with audio: what is said, for captions timed by word length; needed when the consent is limited "
        "to languages",
    )


class ExpressionField(serializers.ChoiceField):
    def __init__(self) -> None:
        from inference import EXPRESSIONS

        super().__init__(
            choices=EXPRESSIONS,
            required=False,
            allow_blank=True,
            default="",
            help_text="the face's expression, held through the video; empty: neutral",
        )


class LabelCornerField(serializers.ChoiceField):
    def __init__(self) -> None:
        super().__init__(
            choices=LABEL_CORNERS,
            required=False,
            allow_blank=True,
            default="",
            help_text="the corner the visible label is drawn in; empty: the server's CANDOR_LABEL_CORNER",
        )


class OutputChoicesInput(serializers.Serializer):
    """The output's shape; checked by the service, which says what is allowed."""

    aspect_ratio = serializers.CharField(
        required=False, default="original", help_text=f"one of {', '.join(ASPECT_RATIOS)}; original keeps the photo's"
    )
    long_side = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text=f"pixels on the long side, {LONG_SIDE_MIN} to {LONG_SIDE_MAX}; null: as animated",
    )
    background = serializers.CharField(
        required=False,
        default=BACKGROUND_BLUR,
        max_length=20,
        help_text='around the portrait when the aspect differs from the photo\'s: "blur" or a colour "#rrggbb"',
    )


class RendersApi(APIView):
    class RenderCreateInput(OutputChoicesInput, SpeechInput):
        label = serializers.BooleanField(required=False, default=True)  # type: ignore[assignment]  # a field named "label"
        label_corner = LabelCornerField()
        title = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=200, help_text="empty: the script's start"
        )
        expression = ExpressionField()

    @extend_schema(operation_id="renders_list", responses=page_of(RenderOutput))
    def get(self, request):
        return _paginated(request, self, selectors.render_list(owner=request.user), RenderOutput)

    @extend_schema(
        request=RenderCreateInput,
        responses={202: RenderOutput},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="a client-chosen key (at most 100 characters): a retry with the same key returns the "
                "first render",
            )
        ],
    )
    def post(self, request):
        data = _validated(self.RenderCreateInput, request.data)
        portrait = selectors.portrait_get(owner=request.user, portrait_id=data["portrait"])
        render = services.render_enqueue(
            owner=request.user,
            portrait=portrait,
            purpose=data["purpose"],
            text=data.get("text", ""),
            language=data.get("language", ""),
            voice=data.get("voice", ""),
            audio=data.get("audio"),
            transcript=data.get("transcript", ""),
            label=data["label"],
            label_corner=data["label_corner"],
            aspect_ratio=data["aspect_ratio"],
            long_side=data["long_side"],
            background=data["background"],
            title=data["title"],
            expression=data["expression"],
            idempotency_key=request.headers.get("Idempotency-Key", "").strip(),
        )
        return Response(RenderOutput(render, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


class RendersLocalizeApi(APIView):
    class Version(serializers.Serializer):
        language = serializers.CharField(max_length=16)
        text = serializers.CharField(max_length=5000, trim_whitespace=True)
        voice = serializers.CharField(
            required=False, allow_blank=True, max_length=40, help_text="one of GET /api/voices/?language="
        )

    class LocalizeInput(OutputChoicesInput):
        portrait = serializers.UUIDField()
        purpose = serializers.ChoiceField(choices=Purpose.choices)
        versions = serializers.ListField(
            child=serializers.DictField(), min_length=1, max_length=services.LOCALIZATION_MAX_VERSIONS
        )
        label = serializers.BooleanField(required=False, default=True)  # type: ignore[assignment]  # a field named "label"
        label_corner = LabelCornerField()
        expression = ExpressionField()

    @extend_schema(request=LocalizeInput, responses={202: RenderOutput(many=True)})
    def post(self, request):
        """One render per language version of the same message, all gated by consent's language scope: all queued or
        none.
        """
        data = _validated(self.LocalizeInput, request.data)
        versions = [_validated(self.Version, version) for version in data["versions"]]
        portrait = selectors.portrait_get(owner=request.user, portrait_id=data["portrait"])
        renders = services.renders_localize(
            owner=request.user,
            portrait=portrait,
            purpose=data["purpose"],
            versions=versions,
            label=data["label"],
            label_corner=data["label_corner"],
            aspect_ratio=data["aspect_ratio"],
            long_side=data["long_side"],
            background=data["background"],
            expression=data["expression"],
        )
        return Response(
            RenderOutput(renders, many=True, context={"request": request}).data, status=status.HTTP_202_ACCEPTED
        )


class RenderPreviewApi(APIView):
    class RenderPreviewInput(OutputChoicesInput, SpeechInput):
        label_corner = LabelCornerField()
        expression = ExpressionField()

    @extend_schema(request=RenderPreviewInput, responses={(200, "video/mp4"): bytes})
    def post(self, request):
        """The first second of the video, labelled and watermarked, gated by consent like a render; nothing is
        stored.
        """
        data = _validated(self.RenderPreviewInput, request.data)
        portrait = selectors.portrait_get(owner=request.user, portrait_id=data["portrait"])
        video = services.render_preview(
            portrait=portrait,
            purpose=data["purpose"],
            text=data.get("text", ""),
            language=data.get("language", ""),
            voice=data.get("voice", ""),
            audio=data.get("audio"),
            transcript=data.get("transcript", ""),
            label_corner=data["label_corner"],
            aspect_ratio=data["aspect_ratio"],
            long_side=data["long_side"],
            background=data["background"],
            expression=data["expression"],
        )
        return HttpResponse(video, content_type="video/mp4")


class NamedVoiceOutput(serializers.Serializer):
    id = serializers.CharField(help_text='what a render takes as "voice", e.g. en-us+f3')
    language = serializers.CharField()
    name = serializers.CharField(help_text='as the pages show it, e.g. "English (America), female 3"')
    accent = serializers.CharField(help_text="the region or accent in the voice's name; may be empty")
    gender = serializers.CharField(help_text="female, male, or empty where the voice data does not say")
    natural = serializers.BooleanField(help_text="a neural voice rather than espeak-ng's formant synthesis")
    sample_url = serializers.CharField(help_text="a few seconds of the voice (WAV), made once and kept")


class VoicesApi(APIView):
    class VoicesOutput(serializers.Serializer):
        language = serializers.CharField()
        default = serializers.CharField()
        voices = serializers.ListField(child=serializers.CharField())
        named = serializers.SerializerMethodField()

        @extend_schema_field(NamedVoiceOutput(many=True))
        def get_named(self, row: dict) -> list[dict]:
            return [
                {**asdict(voice), "sample_url": reverse("voice-sample", args=[row["language"], voice.id])}
                for voice in voices_of_language(row["language"])
            ]

    @extend_schema(
        operation_id="voices_list",
        parameters=[
            OpenApiParameter(
                "language", str, required=False, description="a language code such as de; all when left out"
            )
        ],
        responses=VoicesOutput(many=True),
    )
    def get(self, request):
        """The speech synthesizer's voices per language, default first, each with its name, accent and gender."""
        from inference import speech

        language = request.query_params.get("language", "").strip().lower()
        if language:
            language_check(language)
        rows = []
        for code in [language] if language else speech.languages():
            offered = speech.voices(code)
            rows.append({"language": code, "default": offered[0], "voices": offered})
        return Response(self.VoicesOutput(rows, many=True).data)


class RenderDetailApi(APIView):
    @extend_schema(responses=RenderOutput)
    def get(self, request, render_id):
        render = selectors.render_get(owner=request.user, render_id=render_id)
        return Response(RenderOutput(render, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request, render_id):
        services.render_delete(render=selectors.render_get(owner=request.user, render_id=render_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RenderVideoApi(APIView):
    @extend_schema(responses={(200, "video/mp4"): bytes})
    def get(self, request, render_id):
        render = selectors.render_get(owner=request.user, render_id=render_id)
        refusal = selectors.render_video_unavailable(render)
        if refusal is not None:
            raise refusal
        return FileResponse(
            render.video.open("rb"), content_type="video/mp4", as_attachment=False, filename=f"candor-{render.id}.mp4"
        )


class RenderShareLinkApi(APIView):
    """A public link to the video (a new one replaces the open ones) and its revocation."""

    class ShareLinkOutput(serializers.Serializer):
        url = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(request=None, responses={201: ShareLinkOutput})
    def post(self, request, render_id):
        render = selectors.render_get(owner=request.user, render_id=render_id)
        refusal = selectors.render_video_unavailable(render)
        if refusal is not None:
            raise refusal
        link = sharing.share_link_create(render=render)
        output = {"url": public_url("shared", link.token), "expires_at": link.expires_at}
        return Response(self.ShareLinkOutput(output).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def delete(self, request, render_id):
        sharing.share_links_revoke(render=selectors.render_get(owner=request.user, render_id=render_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PortraitConsentEventsApi(APIView):
    """The creator's view of what happened with consent for one of their portraits."""

    @extend_schema(responses=ConsentEventOutput(many=True))
    def get(self, request, portrait_id):
        portrait = selectors.portrait_get(owner=request.user, portrait_id=portrait_id)
        return Response(
            ConsentEventOutput(consent_selectors.portrait_consent_events_list(portrait=portrait), many=True).data
        )
