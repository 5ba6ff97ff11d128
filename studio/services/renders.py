"""Renders as the creator asks for them: enqueue (gated by consent), localize, preview, cancel, delete, live."""

from __future__ import annotations

import logging
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from consent.audit_log import consent_event_append
from consent.models import Consent, Purpose
from consent.services import consent_gate, consent_preview_give_back, consent_preview_take
from core.errors import ApplicationError, ErrorCode
from core.languages import language_check
from inference import media
from inference.errors import InferenceError
from inference.framing import BACKGROUND_BLUR, frames_framed
from provenance.label import LABEL_CORNERS

from ..captions import captions_delete
from ..models import Portrait, Render
from .common import (
    IDEMPOTENCY_KEY_MAX_CHARS,
    LOCALIZATION_MAX_VERSIONS,
    MEDIA_FOLDERS,
    PREVIEW_SECONDS,
    as_application_error,
    read_upload,
)
from .output import output_shape_checked, title_checked, title_default
from .portraits import portrait_rig_load
from .spoken_language import spoken_language_verify

logger = logging.getLogger(__name__)


# Renders' watermark serials start at 1: a preview's serial 0 reads as Candor's own mark yet names no render.
def _watermark_serial_new() -> int:
    while True:
        serial = secrets.randbelow(2**32 - 1) + 1
        if not Render.objects.filter(watermark_serial=serial).exists():
            return serial


def label_corner_checked(label_corner: str) -> str:
    """The corner the visible label goes in: the one asked for, or CANDOR_LABEL_CORNER when none is."""
    corner = label_corner or settings.CANDOR_LABEL_CORNER
    if corner not in LABEL_CORNERS:
        raise ApplicationError(ErrorCode.INVALID, f"the label corner must be one of {', '.join(LABEL_CORNERS)}")
    return corner


def expression_checked(expression: str) -> str:
    """One of the engine's expressions; empty means neutral."""
    from inference import EXPRESSIONS

    expression = expression or "neutral"
    if expression not in EXPRESSIONS:
        raise ApplicationError(ErrorCode.INVALID_EXPRESSION, f"expression must be one of {', '.join(EXPRESSIONS)}")
    return expression


def _render_input_checked(
    *, purpose: str, text: str, language: str, voice: str, audio, transcript: str
) -> tuple[str, str, bytes | None]:
    """(language, voice, recording bytes) of a valid request: text in a language (in a voice it offers) or a
    recording.
    """
    from inference import speech

    if purpose not in Purpose.values:
        raise ApplicationError(ErrorCode.INVALID, f"purpose must be one of {Purpose.values}")
    if bool(text.strip()) == bool(audio):
        raise ApplicationError(ErrorCode.INVALID, "send either an audio file or text with a language, not both")
    language, voice = language.strip().lower(), voice.strip()
    if language:
        language_check(language)
    if audio:
        if voice:
            raise ApplicationError(
                ErrorCode.INVALID, "a voice applies to typed text; an uploaded recording keeps its own voice"
            )
        if len(transcript) > speech.MAX_TEXT_CHARS:
            raise ApplicationError(
                ErrorCode.TRANSCRIPT_TOO_LONG, f"the transcript is limited to {speech.MAX_TEXT_CHARS} characters"
            )
        audio_bytes = read_upload(audio, max_bytes=settings.CANDOR_MAX_AUDIO_BYTES, what="audio")
        try:
            media.audio_decode(audio_bytes)
        except InferenceError as error:
            raise as_application_error(error) from error
        return language, "", audio_bytes
    if transcript.strip():
        raise ApplicationError(
            ErrorCode.INVALID,
            "a transcript goes with an uploaded recording; typed text is captioned from the synthesizer",
        )
    if not language:
        raise ApplicationError(ErrorCode.INVALID, "language is required with text (e.g. en, de, fr, es, hi, zh)")
    if len(text) > speech.MAX_TEXT_CHARS:
        raise ApplicationError(ErrorCode.TEXT_TOO_LONG, f"text is limited to {speech.MAX_TEXT_CHARS} characters")
    if voice and voice not in speech.voices(language):
        offered = ", ".join(speech.voices(language))
        raise ApplicationError(
            ErrorCode.UNKNOWN_VOICE, f"voice '{voice}' is not offered for '{language}'; choose one of {offered}"
        )
    return language, voice, None


def render_enqueue(
    *,
    owner,
    portrait: Portrait,
    purpose: str,
    text: str = "",
    language: str = "",
    voice: str = "",
    audio=None,
    transcript: str = "",
    label: bool = True,
    label_corner: str = "",
    aspect_ratio: str = "original",
    long_side: int | None = None,
    background: str = BACKGROUND_BLUR,
    title: str = "",
    expression: str = "",
    dispatch: bool = True,
    idempotency_key: str = "",
) -> Render:
    """Check consent and input, store the render request and (unless `dispatch` is off) queue it for a render worker.

    `voice` (empty: the language's default) goes with text; `transcript` (captions) with an uploaded recording.
    `label_corner` (empty: CANDOR_LABEL_CORNER) is where the visible label is drawn; `expression` (empty: neutral)
    is the face's expression. `aspect_ratio`, `long_side` and `background` shape the output
    (inference/framing.py); `title` (empty: the script's start) names it. A repeated `idempotency_key` of the
    same creator returns the render it first made instead of a new one.
    """
    if len(idempotency_key) > IDEMPOTENCY_KEY_MAX_CHARS:
        raise ApplicationError(
            ErrorCode.INVALID, f"the Idempotency-Key header is limited to {IDEMPOTENCY_KEY_MAX_CHARS} characters"
        )
    if idempotency_key:
        earlier = Render.objects.filter(owner=owner, idempotency_key=idempotency_key).first()
        if earlier is not None:
            return earlier
    label_corner = label_corner_checked(label_corner)
    shape = output_shape_checked(aspect_ratio=aspect_ratio, long_side=long_side, background=background)
    title = title_checked(title)
    expression = expression_checked(expression)
    language, voice, audio_bytes = _render_input_checked(
        purpose=purpose, text=text, language=language, voice=voice, audio=audio, transcript=transcript
    )
    # Checked once outside the transaction too, so that a refusal's audit-log entry is not rolled back with it.
    consent = consent_gate(portrait=portrait, purpose=purpose, language=language or "any", label=label)
    spoken_language_verify(
        consent=consent, purpose=purpose, language=language, text=text, recording=audio_bytes, transcript=transcript
    )
    render = None
    try:
        with transaction.atomic():
            consent = consent_gate(portrait=portrait, purpose=purpose, language=language or "any", label=label)
            render = Render(
                owner=owner,
                portrait=portrait,
                consent=consent,
                purpose=purpose,
                language=language,
                text=text.strip(),
                voice=voice,
                transcript=transcript.strip(),
                label=label,
                label_corner=label_corner,
                aspect_ratio=shape.aspect,
                long_side=shape.long_side,
                background=shape.background,
                title=title or title_default(text=text, portrait=portrait),
                expression=expression,
                watermark_serial=_watermark_serial_new(),
                idempotency_key=idempotency_key,
            )
            if audio_bytes is not None:
                # Stored under a name of ours: FFmpeg reads it by content, so the client's file name is never used.
                render.audio.save(f"{render.id}.audio", ContentFile(audio_bytes), save=False)
            render.save()
            consent_event_append(
                consent=consent,
                kind="render_allowed",
                details={"render": str(render.id), "purpose": purpose, "language": language},
            )
            if dispatch:
                transaction.on_commit(lambda: _render_dispatch(render.id))
    except IntegrityError:
        # A concurrent duplicate with the same key won the unique constraint: answer with its render.
        earlier = (
            Render.objects.filter(owner=owner, idempotency_key=idempotency_key).first() if idempotency_key else None
        )
        if earlier is None:
            raise
        if render is not None and render.audio:
            render.audio.delete(save=False)
        return earlier
    return render


def renders_localize(
    *,
    owner,
    portrait: Portrait,
    purpose: str,
    versions: list[dict],
    label: bool = True,
    label_corner: str = "",
    aspect_ratio: str = "original",
    long_side: int | None = None,
    background: str = BACKGROUND_BLUR,
    expression: str = "",
) -> list[Render]:
    """Queue one render per language version ({"language", "text", "voice"} or {"language", "audio", "transcript"}), all
    or none.

    Each is gated by the consent's language scope; one refusal leaves nothing queued and names its language.
    """
    if not versions:
        raise ApplicationError(ErrorCode.INVALID, "give a text or an audio file for at least one language")
    if len(versions) > LOCALIZATION_MAX_VERSIONS:
        raise ApplicationError(ErrorCode.INVALID, f"at most {LOCALIZATION_MAX_VERSIONS} language versions at once")
    languages = [version["language"] for version in versions]
    if len(set(languages)) != len(languages):
        raise ApplicationError(ErrorCode.INVALID, "each language can appear once")
    renders = []
    with transaction.atomic():
        for version in versions:
            language = version["language"]
            try:
                renders.append(
                    render_enqueue(
                        owner=owner,
                        portrait=portrait,
                        purpose=purpose,
                        language=language,
                        text=version.get("text", ""),
                        voice=version.get("voice", ""),
                        audio=version.get("audio"),
                        transcript=version.get("transcript", ""),
                        label=label,
                        label_corner=label_corner,
                        aspect_ratio=aspect_ratio,
                        long_side=long_side,
                        background=background,
                        expression=expression,
                    )
                )
            except ApplicationError as error:
                raise ApplicationError(
                    error.code, f"{language}: {error.detail}", status_code=error.status_code
                ) from error
    return renders


def render_preview(
    *,
    portrait: Portrait,
    purpose: str,
    text: str = "",
    language: str = "",
    voice: str = "",
    audio=None,
    transcript: str = "",
    label_corner: str = "",
    aspect_ratio: str = "original",
    long_side: int | None = None,
    background: str = BACKGROUND_BLUR,
    expression: str = "",
) -> bytes:
    """MP4 bytes of the first second of the video these inputs would make, in its output shape; nothing is stored.

    Gated by consent exactly like a render (a refusal is logged the same way, and a consent limited to languages
    needs a recording's transcript), and counted against the consent's preview quota. Always labelled and
    watermarked: the preview is a frame-accurate part of an AI-generated video, so it is marked as one. The
    consent's audit log records each preview.
    """
    from inference import animate, speech
    from provenance.keys import secret_load_or_create
    from provenance.label import frame_label
    from provenance.services import PREVIEW_WATERMARK_SERIAL
    from provenance.watermark import FrameWatermarker

    label_corner = label_corner_checked(label_corner)
    shape = output_shape_checked(aspect_ratio=aspect_ratio, long_side=long_side, background=background)
    expression = expression_checked(expression)
    language, voice, audio_bytes = _render_input_checked(
        purpose=purpose, text=text, language=language, voice=voice, audio=audio, transcript=transcript
    )
    consent = consent_gate(portrait=portrait, purpose=purpose, language=language or "any")
    spoken_language_verify(
        consent=consent, purpose=purpose, language=language, text=text, recording=audio_bytes, transcript=transcript
    )
    consent_preview_take(
        consent=consent, portrait=portrait, purpose=purpose, language=language, seconds=PREVIEW_SECONDS
    )
    try:
        if audio_bytes is None:
            spoken = speech.synthesize(text, language, voice=voice or None)
            sound, sample_rate = spoken.audio, spoken.sample_rate
            phonemes = [
                (start, min(end, PREVIEW_SECONDS), ipa)
                for start, end, ipa in spoken.phonemes
                if start < PREVIEW_SECONDS
            ]
        else:
            sound, sample_rate, phonemes = media.audio_decode(audio_bytes), media.AUDIO_SAMPLE_RATE, None
        sound = sound[: int(PREVIEW_SECONDS * sample_rate)]
        rig = portrait_rig_load(portrait=portrait, max_side=settings.CANDOR_RENDER_MAX_SIDE)
        frames = animate(
            rig.image,
            sound,
            sample_rate,
            fps=settings.CANDOR_RENDER_FPS,
            phonemes=phonemes,
            expression=expression,
            rig=rig,
            neural_model=settings.CANDOR_NEURAL_MODEL or None,
        )
        marker = FrameWatermarker(PREVIEW_WATERMARK_SERIAL, secret_load_or_create(settings.KEYS_DIR, "watermark"))
        with tempfile.TemporaryDirectory(prefix="candor-preview-") as folder:
            path = Path(folder) / "preview.mp4"
            media.mp4_write(
                path,
                (marker.mark(frame_label(frame, label_corner)) for frame in frames_framed(frames, shape)),
                sound,
                sample_rate,
                fps=settings.CANDOR_RENDER_FPS,
            )
            return path.read_bytes()
    except InferenceError as error:
        consent_preview_give_back(consent=consent, portrait=portrait, reason=error.detail)
        raise as_application_error(error) from error


def _render_dispatch(render_id) -> None:
    from kombu.exceptions import OperationalError as BrokerUnavailable

    from ..tasks import render_run_task

    try:
        # No limits stamped on the message: the render worker's own CANDOR_RENDER_TIME_LIMIT_S applies.
        # (celery-types declares the limits int; Celery takes None as "no limit on the message".)
        render_run_task.apply_async(args=(str(render_id),), time_limit=None, soft_time_limit=None)  # type: ignore[arg-type]
    except BrokerUnavailable as error:
        # The render is stored; renders_undispatched_dispatch queues it once the broker is back.
        logger.warning("render %s stays queued until the broker answers again: %s", render_id, error)
        return
    Render.objects.filter(id=render_id).update(dispatched_at=timezone.now())


def renders_undispatched_dispatch(*, older_than_s: int = 30) -> int:
    """Periodic: queue the renders whose job could not be handed to the broker when they were submitted."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    waiting = list(
        Render.objects.filter(status=Render.Status.QUEUED, dispatched_at=None, created_at__lte=cutoff).values_list(
            "id", flat=True
        )
    )
    for render_id in waiting:
        _render_dispatch(render_id)
    return len(waiting)


def renders_cancel_for_consent(*, consent: Consent, reason: str = "consent was revoked") -> int:
    """Cancel queued and running renders made under this consent; running ones stop at their next frame."""
    return Render.objects.filter(consent=consent, status__in=[Render.Status.QUEUED, Render.Status.RUNNING]).update(
        status=Render.Status.CANCELLED, error=reason, finished_at=timezone.now()
    )


def render_delete(*, render: Render) -> None:
    if render.status in (Render.Status.QUEUED, Render.Status.RUNNING):
        Render.objects.filter(id=render.id).update(status=Render.Status.CANCELLED, error="deleted by the creator")
    if render.video:
        render.video.delete(save=False)
    if render.audio:
        render.audio.delete(save=False)
    if render.thumbnail:
        render.thumbnail.delete(save=False)
    captions_delete(render_id=render.id)
    Render.objects.filter(id=render.id).update(video="", audio="", thumbnail="")


def render_mark_failed(*, render_id, reason: str) -> None:
    """Used by the task base class when the pipeline crashed unexpectedly."""
    Render.objects.filter(id=render_id, status__in=[Render.Status.QUEUED, Render.Status.RUNNING]).update(
        status=Render.Status.FAILED, error=reason, finished_at=timezone.now()
    )


def uploads_abandoned_delete(*, older_than_hours: int | None = None) -> int:
    """Periodic: delete media files no row refers to (uploads of rolled-back requests, temp files of killed renders)."""
    hours = settings.CANDOR_ABANDONED_UPLOAD_HOURS if older_than_hours is None else older_than_hours
    cutoff = timezone.now() - timedelta(hours=hours)
    referenced = set(Portrait.objects.exclude(image="").values_list("image", flat=True))
    for names in Render.objects.values_list("audio", "video", "thumbnail"):
        referenced.update(name for name in names if name)
    deleted = 0
    for folder in MEDIA_FOLDERS:
        if not default_storage.exists(folder):
            continue
        for file_name in default_storage.listdir(folder)[1]:
            name = f"{folder}/{file_name}"
            # Recent files may belong to a request or render still in flight.
            if name in referenced or default_storage.get_modified_time(name) > cutoff:
                continue
            default_storage.delete(name)
            deleted += 1
    if deleted:
        logger.info("deleted %d abandoned media files", deleted)
    return deleted


def live_render_start(*, portrait: Portrait, purpose: str, audio) -> Render:
    """A running render row for a live session: consent-gated like any render, it gives the stream its watermark
    serial.
    """
    render = render_enqueue(owner=portrait.owner, portrait=portrait, purpose=purpose, audio=audio, dispatch=False)
    # Running at once: a queued render would be handed to a worker by the periodic dispatcher.
    Render.objects.filter(id=render.id).update(
        status=Render.Status.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1
    )
    render.status = Render.Status.RUNNING
    consent_event_append(
        consent=render.consent, kind="render_started", details={"render": str(render.id), "live": True}
    )
    return render


def live_render_finish(*, render: Render, status: str, error: str = "", duration_s: float = 0.0) -> None:
    """End a live session's render (done: its video went to the viewer, none is stored); a cancellation stands."""
    fields = {"status": status, "error": error, "finished_at": timezone.now()}
    if status == Render.Status.DONE:
        fields.update(progress=1.0, duration_s=duration_s)
    Render.objects.filter(id=render.id, status=Render.Status.RUNNING).update(**fields)
