"""Creator actions: upload portraits, enqueue renders, run the gated render pipeline, cancel."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from consent.audit_log import consent_event_append
from consent.models import Consent, ConsentState, Purpose
from consent.selectors import consent_state_now
from consent.services import consent_gate, registry_screen
from core.errors import ApplicationError, ErrorCode
from core.languages import language_check
from inference import faces, media
from inference.errors import InferenceError

from .captions import captions_delete, captions_embed, captions_save, transcript_timed
from .models import Portrait, Render

logger = logging.getLogger(__name__)

PORTRAIT_MAX_SIDE = 1600
PROGRESS_WRITE_INTERVAL_S = 0.5
IDEMPOTENCY_KEY_MAX_CHARS = 100
# Language versions one localization may queue at once.
LOCALIZATION_MAX_VERSIONS = 20
MEDIA_FOLDERS = ("portraits", "audio", "videos")
PREVIEW_SECONDS = 1.0
# Renders' watermark serials start at 1: a preview's serial 0 reads as Candor's own mark yet names no render.


class RenderCancelled(Exception):
    """Raised inside the pipeline when the render or its consent was withdrawn."""


class RenderOverBudget(Exception):
    """Raised inside the pipeline when the render process holds more memory than CANDOR_RENDER_MEMORY_LIMIT_MB."""


def _resident_mb() -> float | None:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _read_upload(upload, *, max_bytes: int, what: str) -> bytes:
    if upload is None:
        raise ApplicationError(ErrorCode.INVALID, f"the {what} file is missing")
    if upload.size > max_bytes:
        raise ApplicationError(
            ErrorCode.TOO_LARGE,
            f"the {what} is {upload.size / 1e6:.1f} MB; at most {max_bytes / 1e6:.0f} MB is accepted",
        )
    data = upload.read()
    if not data:
        code = ErrorCode.UNSUPPORTED_IMAGE if what == "image" else ErrorCode.INVALID_AUDIO
        raise ApplicationError(code, f"the {what} file is empty")
    return data


def _as_application_error(error: InferenceError) -> ApplicationError:
    return ApplicationError(ErrorCode(error.code), error.detail)


def portrait_create(*, owner, image, subject_name: str, subject_email: str) -> Portrait:
    """Store a normalized portrait with exactly one detected face and its identity descriptor."""
    data = _read_upload(image, max_bytes=settings.CANDOR_MAX_IMAGE_BYTES, what="image")
    pixels, face, descriptor = _portrait_measure(data)
    registry_screen(
        owner=owner,
        descriptor=descriptor,
        image_jpeg=media.image_encode_jpeg(pixels),
        subject_name=subject_name.strip(),
        subject_email=subject_email.strip().lower(),
    )
    return _portrait_save(
        owner=owner,
        pixels=pixels,
        face=face,
        descriptor=descriptor,
        subject_name=subject_name,
        subject_email=subject_email,
    )


def portrait_create_released(*, hold) -> Portrait:
    """The portrait of an upload that a reviewer released from a registry hold: a person settled its registry match."""
    with hold.image.open("rb") as handle:
        pixels, face, descriptor = _portrait_measure(handle.read())
    return _portrait_save(
        owner=hold.owner,
        pixels=pixels,
        face=face,
        descriptor=descriptor,
        subject_name=hold.subject_name,
        subject_email=hold.subject_email,
    )


def _portrait_measure(data: bytes):
    """(pixels, face, descriptor) of a photo with exactly one face, or the refusal a creator can act on."""
    try:
        pixels = media.image_decode(data, max_side=PORTRAIT_MAX_SIDE)
        face = faces.face_single(pixels)
        return pixels, face, faces.face_descriptor(pixels, face)
    except InferenceError as error:
        raise _as_application_error(error) from error


def _portrait_save(*, owner, pixels, face, descriptor, subject_name: str, subject_email: str) -> Portrait:
    portrait = Portrait(
        owner=owner,
        subject_name=subject_name.strip(),
        subject_email=subject_email.strip().lower(),
        width=pixels.shape[1],
        height=pixels.shape[0],
        face_box=list(face.box),
        landmarks=face.landmarks.round(1).tolist(),
        descriptor=descriptor.tolist(),
    )
    with transaction.atomic():
        portrait.image.save(f"{portrait.id}.jpg", ContentFile(media.image_encode_jpeg(pixels)), save=False)
        portrait.save()
    return portrait


def _watermark_serial_new() -> int:
    while True:
        serial = secrets.randbelow(2**32 - 1) + 1
        if not Render.objects.filter(watermark_serial=serial).exists():
            return serial


def _render_input_checked(
    *, purpose: str, text: str, language: str, voice: str, audio, transcript: str
) -> tuple[str, str, bytes | None]:
    """(language, voice, recording bytes) of a valid request: text in a language (in a voice it offers) or a recording."""
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
        audio_bytes = _read_upload(audio, max_bytes=settings.CANDOR_MAX_AUDIO_BYTES, what="audio")
        try:
            media.audio_decode(audio_bytes)
        except InferenceError as error:
            raise _as_application_error(error) from error
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
    dispatch: bool = True,
    idempotency_key: str = "",
) -> Render:
    """Check consent and input, store the render request and (unless `dispatch` is off) queue it for a render worker.

    `voice` (empty: the language's default) goes with text; `transcript` (captions) with an uploaded recording.
    A repeated `idempotency_key` of the same creator returns the render it first made instead of a new one.
    """
    if len(idempotency_key) > IDEMPOTENCY_KEY_MAX_CHARS:
        raise ApplicationError(
            ErrorCode.INVALID, f"the Idempotency-Key header is limited to {IDEMPOTENCY_KEY_MAX_CHARS} characters"
        )
    if idempotency_key:
        earlier = Render.objects.filter(owner=owner, idempotency_key=idempotency_key).first()
        if earlier is not None:
            return earlier
    language, voice, audio_bytes = _render_input_checked(
        purpose=purpose, text=text, language=language, voice=voice, audio=audio, transcript=transcript
    )
    # Checked once outside the transaction too, so that a refusal's audit-log entry is not rolled back with it.
    consent_gate(portrait=portrait, purpose=purpose, language=language or "any")
    render = None
    try:
        with transaction.atomic():
            consent = consent_gate(portrait=portrait, purpose=purpose, language=language or "any")
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
    *, owner, portrait: Portrait, purpose: str, versions: list[dict], label: bool = True
) -> list[Render]:
    """Queue one render per language version ({"language", "text", "voice"} or {"language", "audio", "transcript"}), all or none.

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
                    )
                )
            except ApplicationError as error:
                raise ApplicationError(
                    error.code, f"{language}: {error.detail}", status_code=error.status_code
                ) from error
    return renders


def render_preview(
    *, portrait: Portrait, purpose: str, text: str = "", language: str = "", voice: str = "", audio=None
) -> bytes:
    """MP4 bytes of the first second of the video these inputs would make; nothing is stored.

    Gated by consent exactly like a render (a refusal is logged the same way), and always labelled and watermarked:
    the preview is a frame-accurate part of an AI-generated video, so it is marked as one. The consent's audit log
    records each preview.
    """
    from inference import speech
    from inference.animate import animate
    from provenance.keys import secret_load_or_create
    from provenance.label import frame_label
    from provenance.services import PREVIEW_WATERMARK_SERIAL
    from provenance.watermark import FrameWatermarker

    language, voice, audio_bytes = _render_input_checked(
        purpose=purpose, text=text, language=language, voice=voice, audio=audio, transcript=""
    )
    consent = consent_gate(portrait=portrait, purpose=purpose, language=language or "any")
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
            rig=rig,
            neural_model=settings.CANDOR_NEURAL_MODEL or None,
        )
        marker = FrameWatermarker(PREVIEW_WATERMARK_SERIAL, secret_load_or_create(settings.KEYS_DIR, "watermark"))
        with tempfile.TemporaryDirectory(prefix="candor-preview-") as folder:
            path = Path(folder) / "preview.mp4"
            media.mp4_write(
                path,
                (marker.mark(frame_label(frame)) for frame in frames),
                sound,
                sample_rate,
                fps=settings.CANDOR_RENDER_FPS,
            )
            video = path.read_bytes()
    except InferenceError as error:
        raise _as_application_error(error) from error
    consent_event_append(
        consent=consent,
        kind="render_previewed",
        details={
            "portrait": str(portrait.id),
            "purpose": purpose,
            "language": language,
            "seconds": PREVIEW_SECONDS,
        },
    )
    return video


def _render_dispatch(render_id) -> None:
    from kombu.exceptions import OperationalError as BrokerUnavailable

    from .tasks import render_run_task

    try:
        # No limits stamped on the message: the render worker's own CANDOR_RENDER_TIME_LIMIT_S applies.
        render_run_task.apply_async(args=[str(render_id)], time_limit=None, soft_time_limit=None)
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


def portrait_erase(*, portrait: Portrait) -> None:
    """Delete what shows or describes the person pictured: photo, descriptor, rigs, videos, recordings, captions.

    The rows stay, stripped to ids, dates and scope, so the verifier can still say a video's consent was erased.
    """
    renders = Render.objects.filter(portrait=portrait)
    for render in renders.exclude(video=""):
        render.video.delete(save=False)
    for render in renders.exclude(audio=""):
        render.audio.delete(save=False)
    for render in renders:
        captions_delete(render_id=render.id)  # they hold the spoken words
    renders.update(video="", audio="", text="")
    if portrait.image:
        portrait.image.delete(save=False)
    portrait_rigs_delete(portrait=portrait)
    Portrait.objects.filter(id=portrait.id).update(
        image="", descriptor=[], landmarks=[], subject_name="", subject_email="", erased_at=timezone.now()
    )


def render_delete(*, render: Render) -> None:
    if render.status in (Render.Status.QUEUED, Render.Status.RUNNING):
        Render.objects.filter(id=render.id).update(status=Render.Status.CANCELLED, error="deleted by the creator")
    if render.video:
        render.video.delete(save=False)
    if render.audio:
        render.audio.delete(save=False)
    captions_delete(render_id=render.id)
    Render.objects.filter(id=render.id).update(video="", audio="")


class _ProgressReporter:
    """Writes progress at most every half second and stops the pipeline when the render is withdrawn."""

    def __init__(self, render: Render, on_progress):
        self.render = render
        self.total_frames = 1  # known once the speech is
        self.progress = 0.0
        self.on_progress = on_progress
        self.last_write = 0.0

    def stage(self, progress: float) -> None:
        self._write(progress, force=True)

    def waiting(self) -> None:
        """While the pipeline works on something long: the same progress again, with the usual checks."""
        self._write(self.progress)

    def frame(self, index: int) -> None:
        self._write(0.05 + 0.85 * (index + 1) / self.total_frames)

    def _write(self, progress: float, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_write < PROGRESS_WRITE_INTERVAL_S:
            return
        self.last_write = now
        self.progress = progress
        updated = Render.objects.filter(id=self.render.id, status=Render.Status.RUNNING).update(
            progress=round(progress, 4)
        )
        consent = Consent.objects.select_related("portrait").get(id=self.render.consent_id)
        if not updated or consent_state_now(consent) != ConsentState.ACTIVE:
            raise RenderCancelled()
        limit = settings.CANDOR_RENDER_MEMORY_LIMIT_MB
        if limit and (resident := _resident_mb()) is not None and resident > limit:
            raise RenderOverBudget(
                f"the render exceeded its memory budget of {limit} MB ({resident:.0f} MB in use) and was stopped"
            )
        if self.on_progress is not None:
            self.on_progress(progress)


def _recording_phonemes(render: Render, audio, sample_rate: int):
    """An English recording with its transcript moves the lips from its phones aligned to the words, as text does;
    any other recording (or a transcript that does not fit it) is read from the sound alone (None)."""
    from inference import recognition

    if render.language.startswith("en") and render.transcript.strip():
        return recognition.aligned_phonemes(audio, sample_rate, render.transcript)
    return None


def _deferred(make_frames, *, portrait: Portrait):
    """The frames make_frames(rig) returns for the portrait's rig, made only when the first is asked for (in the
    thread that asks)."""
    yield from make_frames(portrait_rig_load(portrait=portrait, max_side=settings.CANDOR_RENDER_MAX_SIDE))


def _rig_cache_name(portrait: Portrait, max_side: int) -> str:
    from inference.rig import RIG_FORMAT

    return f"rigs/{portrait.id}-{max_side}-{RIG_FORMAT}.npz"


def portrait_rig_load(*, portrait: Portrait, max_side: int):
    """The portrait's animation rig at max_side, built once and kept in storage beside the photo.

    Face detection and the mesh cost most of a second; every later render,
    preview and language version of the portrait reads them back in milliseconds.
    """
    from inference.rig import portrait_rig, rig_from_bytes, rig_to_bytes

    name = _rig_cache_name(portrait, max_side)
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as handle:
            rig = rig_from_bytes(handle.read())
        if rig is not None:
            return rig
        default_storage.delete(name)
    with portrait.image.open("rb") as handle:
        rig = portrait_rig(media.image_decode(handle.read(), max_side=PORTRAIT_MAX_SIDE), max_side=max_side)
    try:
        default_storage.save(name, ContentFile(rig_to_bytes(rig)))
    except OSError:
        logger.warning("could not cache the rig of portrait %s", portrait.id, exc_info=True)
    return rig


def portrait_rigs_delete(*, portrait: Portrait) -> None:
    """Delete the portrait's cached rigs (they hold its face), e.g. when the person pictured has it erased."""
    if not default_storage.exists("rigs"):
        return
    for file_name in default_storage.listdir("rigs")[1]:
        if file_name.startswith(f"{portrait.id}-"):
            default_storage.delete(f"rigs/{file_name}")


def worker_thread_deprioritize(*, niceness: int) -> None:
    """Lower the calling thread's CPU priority to at least `niceness` (Unix nice; threads it starts inherit it).

    Only ever lowered: raising priority back needs privileges a worker should not have.
    """
    if niceness <= 0 or not hasattr(os, "setpriority"):
        return
    thread = threading.get_native_id()
    try:
        if os.getpriority(os.PRIO_PROCESS, thread) < niceness:
            os.setpriority(os.PRIO_PROCESS, thread, niceness)
    except OSError:
        logger.warning("could not lower the render thread's priority", exc_info=True)


def render_run(*, render_id, on_progress=None) -> Render:
    """Run one render end to end (idempotent: a finished, failed or cancelled render is left as it is).

    The consent gate is checked again here: consent may have been revoked since the render was queued.
    """
    from inference import speech
    from inference.animate import animate, frame_count
    from provenance.services import provenance_frames, video_sign

    render = Render.objects.select_related("portrait", "consent").get(id=render_id)
    if render.status not in (Render.Status.QUEUED, Render.Status.RUNNING):
        return render
    if render.attempts >= settings.CANDOR_RENDER_MAX_ATTEMPTS:
        # Each re-delivery follows a worker process that died mid-render (killed, out of memory): stop the loop.
        _render_finish(
            render,
            Render.Status.FAILED,
            error=(
                f"the render was interrupted {render.attempts} times (its worker process was killed, e.g. out of memory); "
                "it is not tried again"
            ),
        )
        return render
    try:
        consent_gate(portrait=render.portrait, purpose=render.purpose, language=render.language or "any")
    except ApplicationError as error:
        _render_finish(render, Render.Status.CANCELLED, error=error.detail)
        return render
    Render.objects.filter(id=render.id).update(
        status=Render.Status.RUNNING, started_at=timezone.now(), progress=0.0, error="", attempts=F("attempts") + 1
    )
    render.status = Render.Status.RUNNING
    consent_event_append(consent=render.consent, kind="render_started", details={"render": str(render.id)})
    reporter = _ProgressReporter(render, on_progress)
    try:
        reporter.stage(0.01)
        if render.text:
            spoken = speech.synthesize(render.text, render.language, voice=render.voice or None)
            audio, sample_rate, phonemes, words = spoken.audio, spoken.sample_rate, list(spoken.phonemes), spoken.words
        else:
            with render.audio.open("rb") as handle:
                audio = media.audio_decode(handle.read())
            sample_rate = media.AUDIO_SAMPLE_RATE
            words = transcript_timed(render.transcript, audio, sample_rate)
        reporter.total_frames = frame_count(audio.size, sample_rate, settings.CANDOR_RENDER_FPS)
        reporter.stage(0.05)
        # Deferred into the pipeline's thread: rigging a new portrait and analysing a long recording take
        # seconds, and the waiting render keeps reporting progress and checking consent meanwhile.
        frames = _deferred(
            lambda rig: animate(
                rig.image,
                audio,
                sample_rate,
                fps=settings.CANDOR_RENDER_FPS,
                phonemes=phonemes if render.text else _recording_phonemes(render, audio, sample_rate),
                seed=render.watermark_serial,
                rig=rig,
                neural_model=settings.CANDOR_NEURAL_MODEL or None,
            ),
            portrait=render.portrait,
        )
        destination = Path(settings.MEDIA_ROOT) / "videos" / f"{render.id}.mp4"
        unsigned = destination.with_name(f".unsigned-{render.id}.mp4")
        try:
            media.mp4_write(
                unsigned,
                provenance_frames(frames, render=render, on_wait=reporter.waiting),
                audio,
                sample_rate,
                fps=settings.CANDOR_RENDER_FPS,
                on_frame=reporter.frame,
            )
            reporter.stage(0.92)
            if words:
                # Captions go into the file before signing, so that the manifest covers them too.
                captions_embed(path=unsigned, words=words)
            video_sign(source=unsigned, destination=destination, render=render)
        finally:
            unsigned.unlink(missing_ok=True)
        render.video.name = _video_store(signed=destination, name=f"videos/{render.id}.mp4")
        render.duration_s = audio.size / sample_rate
        if words:
            # Text renders get exact captions from the synthesizer; recordings get their transcript's words, timed by length.
            captions_save(render_id=render.id, words=words)
        _render_finish(render, Render.Status.DONE)
    except RenderCancelled:
        current = Render.objects.get(id=render.id)
        _render_finish(render, Render.Status.CANCELLED, error=current.error or "consent is no longer active")
    except InferenceError as error:
        _render_finish(render, Render.Status.FAILED, error=error.detail)
    except RenderOverBudget as error:
        _render_finish(render, Render.Status.FAILED, error=str(error))
    except OSError as error:
        # Disk full or an unwritable data directory: say so; the temp files are gone and nothing else was touched.
        logger.exception("render %s could not use its files", render.id)
        _render_finish(render, Render.Status.FAILED, error=f"the video could not be stored: {error.strerror or error}")
    return render


def _video_store(*, signed: Path, name: str) -> str:
    """Put the signed MP4 where media lives: on local disk it is already in place; other storage (S3) gets a copy."""
    if isinstance(default_storage, FileSystemStorage) and Path(default_storage.location) == Path(settings.MEDIA_ROOT):
        return name
    with signed.open("rb") as handle:
        stored = default_storage.save(name, File(handle))
    signed.unlink()
    return stored


def _render_finish(render: Render, status: str, *, error: str = "") -> None:
    render.status = status
    render.error = error
    render.finished_at = timezone.now()
    fields = {"status": status, "error": error, "finished_at": render.finished_at}
    if status == Render.Status.DONE:
        render.progress = 1.0
        fields.update(progress=1.0, video=render.video.name, duration_s=render.duration_s)
    if status != Render.Status.DONE:
        # A render cancelled meanwhile (revocation, deletion) keeps that state.
        Render.objects.filter(id=render.id).exclude(status=Render.Status.CANCELLED).update(**fields)
    elif not Render.objects.filter(id=render.id, status=Render.Status.RUNNING).update(**fields):
        # Revoked or deleted while the file was being finished: the video must not outlive the cancellation.
        default_storage.delete(render.video.name)
        captions_delete(render_id=render.id)
        render.status, render.video.name, render.progress = Render.Status.CANCELLED, "", 0.0
    logger.info("render %s finished: %s %s", render.id, render.status, error)


def live_render_start(*, portrait: Portrait, purpose: str, audio) -> Render:
    """A running render row for a live session: consent-gated like any render, it gives the stream its watermark serial."""
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
    for audio, video in Render.objects.values_list("audio", "video"):
        referenced.update(name for name in (audio, video) if name)
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
