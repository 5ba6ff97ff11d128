"""The worker side of a render: speech, animation, marking, encoding and signing, with progress and consent checks."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, default_storage
from django.db.models import F
from django.utils import timezone

from consent.audit_log import consent_event_append
from consent.models import Consent, ConsentState
from consent.selectors import consent_state_now
from consent.services import consent_gate
from core.errors import ApplicationError
from inference import media
from inference.errors import InferenceError
from inference.framing import frames_framed
from inference.pipeline import opencv_on_one_thread, run_beside, started

from ..captions import captions_delete, captions_embed, captions_save, transcript_timed
from ..models import Render
from .common import PROGRESS_WRITE_INTERVAL_S, RenderCancelled, RenderOverBudget
from .output import render_output_shape, render_thumbnail_save
from .portraits import portrait_rig_load

if TYPE_CHECKING:
    from inference.rig import PortraitRig

logger = logging.getLogger(__name__)


def _resident_mb() -> float | None:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class _ProgressReporter:
    """Writes progress at most every half second and stops the pipeline when the render is withdrawn or over its
    time or memory budget.

    The time budget is checked here, between database calls, rather than by Celery's soft time limit: that raises its
    exception from a signal at whatever line runs, which may be inside a query, and leaves the connection mid-command
    ("another command is already in progress" when the failure is then written). Celery's hard limit stays as the
    backstop for native code that does not come back.
    """

    def __init__(self, render: Render, on_progress):
        self.render = render
        self.total_frames = 1  # known once the speech is
        self.progress = 0.0
        self.on_progress = on_progress
        self.last_write = 0.0
        self.deadline = time.monotonic() + settings.CANDOR_RENDER_TIME_LIMIT_S

    def stage(self, progress: float) -> None:
        self._write(progress, force=True)

    def waiting(self) -> None:
        """While the pipeline works on something long: the same progress again, with the usual checks."""
        self._write(self.progress)

    def frame(self, index: int) -> None:
        self._write(PROGRESS_SPEECH_READY + PROGRESS_FRAMES_SHARE * (index + 1) / self.total_frames)

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
        if now > self.deadline:
            raise RenderOverBudget.of_time()
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


def _deferred(make_frames, *, rig: Future[PortraitRig]):
    """The frames make_frames(rig) returns for the portrait's rig, made only when the first is asked for (in the
    thread that asks, which waits for the rig if it is still being loaded or built)."""
    yield from make_frames(rig.result())


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


# Progress milestones of a render: started, speech ready (the frames then fill up to FRAMES_DONE), encoded.
PROGRESS_STARTED = 0.01
PROGRESS_SPEECH_READY = 0.05
PROGRESS_FRAMES_SHARE = 0.85
PROGRESS_ENCODED = 0.92


@dataclass(frozen=True)
class RenderSpeech:
    """What the render says: its audio, the synthesizer's phonemes (None for a recording), caption words."""

    audio: np.ndarray
    sample_rate: int
    phonemes: Sequence[tuple[float, float, str]] | None
    words: Sequence[tuple[float, float, str]]


def _render_claim(render: Render) -> bool:
    """Mark the render running if it may run now (attempts left, consent still covering it); else finish it."""
    if render.attempts >= settings.CANDOR_RENDER_MAX_ATTEMPTS:
        # Each re-delivery follows a worker process that died mid-render (killed, out of memory): stop the loop.
        render_finish(
            render,
            Render.Status.FAILED,
            error=(
                f"the render was interrupted {render.attempts} times (its worker process was killed, e.g. out of "
                "memory); it is not tried again"
            ),
        )
        return False
    try:
        consent_gate(
            portrait=render.portrait, purpose=render.purpose, language=render.language or "any", label=render.label
        )
    except ApplicationError as error:
        render_finish(render, Render.Status.CANCELLED, error=error.detail)
        return False
    Render.objects.filter(id=render.id).update(
        status=Render.Status.RUNNING, started_at=timezone.now(), progress=0.0, error="", attempts=F("attempts") + 1
    )
    render.status = Render.Status.RUNNING
    consent_event_append(consent=render.consent, kind="render_started", details={"render": str(render.id)})
    return True


def _render_speech(render: Render) -> RenderSpeech:
    """The synthesized text (phonemes and words exact) or the uploaded recording (words timed from its transcript)."""
    from inference import speech

    if render.text:
        spoken = speech.synthesize(render.text, render.language, voice=render.voice or None)
        return RenderSpeech(spoken.audio, spoken.sample_rate, spoken.phonemes, spoken.words)
    with render.audio.open("rb") as handle:
        audio = media.audio_decode(handle.read())
    sample_rate = media.AUDIO_SAMPLE_RATE
    words = transcript_timed(render.transcript, audio, sample_rate)
    # A recording's phonemes are read later, in the pipeline's thread (_render_encode_and_sign).
    return RenderSpeech(audio, sample_rate, None, words)


class _ThumbnailFrame:
    """Keeps one published frame for the library: the one at `at_index` (a second in, past the first blink), or the
    last of a shorter video."""

    def __init__(self, *, at_index: int):
        self.at_index = at_index
        self.frame: np.ndarray | None = None

    def keep(self, frames):
        for index, frame in enumerate(frames):
            if index <= self.at_index:
                self.frame = frame
            yield frame


def _render_encode_and_sign(
    render: Render, spoken: RenderSpeech, reporter: _ProgressReporter, *, rig: Future[PortraitRig]
) -> Path:
    """Animate, mark (label, watermark, fingerprint), encode, embed captions and sign; returns the signed MP4."""
    from inference import animate
    from provenance.services import provenance_frames, video_sign

    # Deferred into the pipeline's thread: rigging a new portrait and analysing a long recording take
    # seconds, and the waiting render keeps reporting progress and checking consent meanwhile.
    frames = _deferred(
        lambda rig: frames_framed(
            animate(
                rig.image,
                spoken.audio,
                spoken.sample_rate,
                fps=settings.CANDOR_RENDER_FPS,
                phonemes=spoken.phonemes
                if render.text
                else _recording_phonemes(render, spoken.audio, spoken.sample_rate),
                seed=render.watermark_serial,
                expression=render.expression,
                rig=rig,
                neural_model=settings.CANDOR_NEURAL_MODEL or None,
            ),
            render_output_shape(render),
        ),
        rig=rig,
    )
    thumbnail = _ThumbnailFrame(at_index=settings.CANDOR_RENDER_FPS)
    destination = Path(settings.MEDIA_ROOT) / "videos" / f"{render.id}.mp4"
    unsigned = destination.with_name(f".unsigned-{render.id}.mp4")
    try:
        media.mp4_write(
            unsigned,
            thumbnail.keep(
                provenance_frames(
                    frames, render=render, sound=(spoken.audio, spoken.sample_rate), on_wait=reporter.waiting
                )
            ),
            spoken.audio,
            spoken.sample_rate,
            fps=settings.CANDOR_RENDER_FPS,
            on_frame=reporter.frame,
        )
        reporter.stage(PROGRESS_ENCODED)
        if spoken.words:
            # Captions go into the file before signing, so that the manifest covers them too.
            captions_embed(path=unsigned, words=spoken.words)
        video_sign(source=unsigned, destination=destination, render=render)
        if thumbnail.frame is not None:
            render_thumbnail_save(render=render, frame=thumbnail.frame)
    finally:
        unsigned.unlink(missing_ok=True)
    return destination


def render_run(*, render_id, on_progress=None) -> Render:
    """Run one render end to end (idempotent: a finished, failed or cancelled render is left as it is).

    The consent gate is checked again here: consent may have been revoked since the render was queued.
    """
    from inference import frame_count

    render = Render.objects.select_related("portrait", "consent").get(id=render_id)
    if render.status not in (Render.Status.QUEUED, Render.Status.RUNNING) or not _render_claim(render):
        return render
    reporter = _ProgressReporter(render, on_progress)
    with opencv_on_one_thread():
        try:
            reporter.stage(PROGRESS_STARTED)
            # The rig (read back, or built for a new portrait) and the speech do not depend on each other: both take
            # seconds for a new portrait or in a new process (face models, the natural voice's model), so they are made
            # side by side, and this thread keeps reporting progress and checking consent meanwhile.
            rig = started(
                lambda: portrait_rig_load(portrait=render.portrait, max_side=settings.CANDOR_RENDER_MAX_SIDE),
                name="candor-rig",
            )
            spoken = run_beside(lambda: _render_speech(render), name="candor-speech", on_wait=reporter.waiting)
            reporter.total_frames = frame_count(spoken.audio.size, spoken.sample_rate, settings.CANDOR_RENDER_FPS)
            reporter.stage(PROGRESS_SPEECH_READY)
            signed = _render_encode_and_sign(render, spoken, reporter, rig=rig)
            render.video.name = _video_store(signed=signed, name=f"videos/{render.id}.mp4")
            render.duration_s = spoken.audio.size / spoken.sample_rate
            if spoken.words:
                # Text renders get exact captions from the synthesizer; recordings their transcript's words, timed by
                # length.
                captions_save(render_id=render.id, words=spoken.words)
            render_finish(render, Render.Status.DONE)
        except RenderCancelled:
            current = Render.objects.get(id=render.id)
            render_finish(render, Render.Status.CANCELLED, error=current.error or "consent is no longer active")
        except InferenceError as error:
            render_finish(render, Render.Status.FAILED, error=error.detail)
        except RenderOverBudget as error:
            render_finish(render, Render.Status.FAILED, error=str(error))
        except OSError as error:
            # Disk full or an unwritable data directory: say so; the temp files are gone and nothing else was
            # touched.
            logger.exception("render %s could not use its files", render.id)
            reason = f"the video could not be stored: {error.strerror or error}"
            render_finish(render, Render.Status.FAILED, error=reason)
    return render


def _video_store(*, signed: Path, name: str) -> str:
    """Put the signed MP4 where media lives: on local disk it is already in place; other storage (S3) gets a copy."""
    if isinstance(default_storage, FileSystemStorage) and Path(default_storage.location) == Path(settings.MEDIA_ROOT):
        return name
    with signed.open("rb") as handle:
        stored = default_storage.save(name, File(handle))
    signed.unlink()
    return stored


def render_finish(render: Render, status: str, *, error: str = "") -> None:
    render.status = status
    render.error = error
    render.finished_at = timezone.now()
    fields = {"status": status, "error": error, "finished_at": render.finished_at}
    if status == Render.Status.DONE:
        render.progress = 1.0
        fields.update(
            progress=1.0, video=render.video.name, duration_s=render.duration_s, thumbnail=render.thumbnail.name
        )
    if status != Render.Status.DONE:
        # A render cancelled meanwhile (revocation, deletion) keeps that state.
        Render.objects.filter(id=render.id).exclude(status=Render.Status.CANCELLED).update(**fields)
    elif not Render.objects.filter(id=render.id, status=Render.Status.RUNNING).update(**fields):
        # Revoked or deleted while the file was being finished: the video must not outlive the cancellation.
        default_storage.delete(str(render.video.name))
        if render.thumbnail:
            default_storage.delete(str(render.thumbnail.name))
        captions_delete(render_id=render.id)
        render.status, render.video.name, render.progress = Render.Status.CANCELLED, "", 0.0
    logger.info("render %s finished: %s %s", render.id, render.status, error)
