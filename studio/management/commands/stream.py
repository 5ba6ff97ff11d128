"""manage.py stream: live mode shown end to end, a consented portrait speaking audio fed in chunks, written as fragmented MP4 as it plays."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db.models import F
from django.utils import timezone

import inference
from consent.services import consent_event_append, consent_status_now
from inference import media
from inference.errors import InferenceError
from provenance.services import live_frame_filter
from studio.exceptions import ApplicationError
from studio.models import Portrait, Render
from studio.services import PORTRAIT_MAX_SIDE, render_enqueue, render_mark_failed

# Fragments start at keyframes: one a second keeps the file playable while it grows.
_KEYFRAME_EVERY_S = 1.0


class Command(BaseCommand):
    help = (
        "Stream a talking video of a consented portrait: the audio file is fed to the engine in chunks as a live source "
        "would deliver it, and every frame is labelled, watermarked and written to a fragmented MP4 (H.264 + AAC) as soon "
        "as it is drawn. The session is recorded as a render (the verifier recognises its video); refuses without active "
        "consent for the purpose, and stops if consent is withdrawn. Prints the added latency and speed to stderr."
    )

    def add_arguments(self, parser):
        parser.add_argument("--portrait", required=True, help="portrait id")
        parser.add_argument("--audio", type=Path, required=True, help="speech audio file (WAV, MP3, OGG, FLAC, M4A), fed in as if live")
        parser.add_argument("--out", required=True, help="where to write the fragmented MP4, or - for stdout")
        parser.add_argument("--chunk-ms", type=int, default=20, help="length of each audio chunk fed in (default 20 ms, a microphone's)")
        parser.add_argument("--purpose", default="personal", choices=Render.Purpose.values)
        parser.add_argument("--realtime", action="store_true", help="feed the chunks at the pace of speech, as a microphone would")

    def handle(self, *args, portrait, audio, out, chunk_ms, purpose, realtime, **options):
        if chunk_ms <= 0:
            raise CommandError("--chunk-ms must be positive")
        found = Portrait.objects.filter(id=portrait, erased_at__isnull=True).first() if _is_uuid(portrait) else None
        if found is None:
            raise CommandError(f"no portrait with id {portrait}")
        if not audio.is_file():
            raise CommandError(f"audio file not found: {audio}")
        recording = audio.read_bytes()
        try:
            render = render_enqueue(
                owner=found.owner, portrait=found, purpose=purpose, audio=SimpleUploadedFile(audio.name, recording), dispatch=False,
            )
        except ApplicationError as error:
            raise CommandError(f"{error.code}: {error.detail}") from error
        # Running at once: a queued render would be handed to a worker by the periodic dispatcher.
        Render.objects.filter(id=render.id).update(status=Render.Status.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1)
        consent_event_append(consent=render.consent, kind="render_started", details={"render": str(render.id), "live": True})
        try:
            report = _stream(render, recording, out, chunk_ms=chunk_ms, realtime=realtime)
        except (InferenceError, OSError) as error:
            render_mark_failed(render_id=render.id, reason=str(error))
            raise CommandError(f"the stream failed: {error}") from error
        except KeyboardInterrupt:
            # Ctrl-C is how a live session usually ends: what was written stays a playable, watermarked video.
            render_mark_failed(render_id=render.id, reason="the live stream was interrupted")
            raise
        finished = timezone.now()
        if report.stopped:
            Render.objects.filter(id=render.id, status=Render.Status.RUNNING).update(
                status=Render.Status.CANCELLED, error="consent is no longer active", finished_at=finished
            )
            raise CommandError(f"the stream was stopped after {report.frames} frames: consent is no longer active")
        Render.objects.filter(id=render.id, status=Render.Status.RUNNING).update(
            status=Render.Status.DONE, progress=1.0, duration_s=report.audio_s, finished_at=finished
        )
        self.stderr.write(report.summary(render=render, out=out, chunk_ms=chunk_ms))


class _Report:
    """What one stream did: frames, audio, the latency each frame was held back by, and the speed."""

    def __init__(self) -> None:
        self.frames = 0
        self.audio_s = 0.0
        self.added_s: list[float] = []  # audio handed to the engine when the frame came out, minus the frame's time
        self.lookahead_s: list[float] = []  # of which the engine asked for: the audio its pose was computed from
        self.behind_s: list[float] = []  # with --realtime: wall clock when written, minus when its moment was spoken
        self.seconds = 0.0
        self.stopped = False

    def summary(self, *, render: Render, out: str, chunk_ms: int) -> str:
        where = "stdout" if out == "-" else out
        lines = [
            f"render {render.id}: {self.frames} frames ({self.audio_s:.2f} s) streamed to {where}",
            f"added latency: at most {max(self.added_s) * 1000:.0f} ms of audio beyond a frame's time had arrived when it was drawn "
            f"(the engine's lookahead, {max(self.lookahead_s) * 1000:.0f} ms, and the wait for the {chunk_ms} ms chunk that completed it)",
            f"speed: {self.frames / max(self.seconds, 1e-9):.1f} frames per second",
        ]
        if self.behind_s:
            lines.append(f"behind the live audio: {np.mean(self.behind_s) * 1000:.0f} ms on average, at most {max(self.behind_s) * 1000:.0f} ms")
        return "\n".join(lines)


def _stream(render: Render, recording: bytes, out: str, *, chunk_ms: int, realtime: bool) -> _Report:
    """Feed the decoded recording in chunks to inference.stream and write each frame as it comes; stops when consent ends."""
    from inference.rig import portrait_rig

    sample_rate = media.AUDIO_SAMPLE_RATE
    fps = settings.CANDOR_RENDER_FPS
    audio = media.audio_decode(recording, sample_rate=sample_rate)
    with render.portrait.image.open("rb") as handle:
        rig = portrait_rig(media.image_decode(handle.read(), max_side=PORTRAIT_MAX_SIDE), max_side=settings.CANDOR_RENDER_MAX_SIDE)
    report = _Report()
    target = sys.stdout.buffer if out == "-" else _opened(Path(out))
    try:
        with _FragmentedMp4(target, width=rig.image.shape[1], height=rig.image.shape[0], fps=fps, sample_rate=sample_rate) as mp4:
            marked = live_frame_filter(render=render, still=rig.image)
            source = _LiveAudio(audio, sample_rate, max(1, round(chunk_ms * sample_rate / 1000)), realtime=realtime, on_chunk=mp4.add_audio)
            frames = inference.stream(rig, source, sample_rate, fps=fps, seed=render.watermark_serial, frame_filter=marked)
            for live in frames:
                mp4.add_frame(live.index, live.image)
                target.flush()
                report.frames += 1
                report.added_s.append(source.handed_out / sample_rate - live.time_s)
                report.lookahead_s.append(live.heard_s - live.time_s)
                if realtime:
                    report.behind_s.append(time.monotonic() - source.started - live.time_s)
                if report.frames % fps == 0 and not _still_allowed(render):
                    report.stopped = True
                    break
            report.seconds = time.monotonic() - source.started
    finally:
        if target is not sys.stdout.buffer:
            target.close()
    report.audio_s = audio.size / sample_rate
    return report


def _still_allowed(render: Render) -> bool:
    """Whether the live render may go on: not cancelled (revocation cancels it) and its consent still active."""
    render = Render.objects.select_related("consent__portrait").get(id=render.id)
    return render.status == Render.Status.RUNNING and consent_status_now(render.consent) == "active"


def _opened(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("wb")


class _LiveAudio:
    """Decoded mono audio (N,) handed out chunk by chunk as a live source would, optionally at the pace of speech."""

    def __init__(self, audio: np.ndarray, sample_rate: int, chunk_samples: int, *, realtime: bool,
                 on_chunk: Callable[[np.ndarray], None]) -> None:
        self.audio, self.sample_rate, self.chunk_samples = audio, sample_rate, chunk_samples
        self.realtime, self.on_chunk = realtime, on_chunk
        self.handed_out = 0  # samples
        self.started = time.monotonic()

    def __iter__(self) -> Iterator[np.ndarray]:
        self.started = time.monotonic()
        for start in range(0, self.audio.size, self.chunk_samples):
            chunk = self.audio[start : start + self.chunk_samples]
            if self.realtime:
                # A microphone delivers a chunk once its last sample has been spoken.
                time.sleep(max(0.0, self.started + (start + chunk.size) / self.sample_rate - time.monotonic()))
            self.on_chunk(chunk)
            self.handed_out = start + chunk.size
            yield chunk


class _FragmentedMp4:
    """H.264 + AAC written as fragmented MP4 while it is made: each keyframe starts a fragment a player can show at once."""

    def __init__(self, target: BinaryIO, *, width: int, height: int, fps: int, sample_rate: int) -> None:
        self.container = av.open(target, mode="w", format="mp4", options={
            "movflags": "frag_keyframe+empty_moov+default_base_moof",
            # Without an edit list (empty_moov) the AAC priming would otherwise delay the first video frame.
            "avoid_negative_ts": "make_non_negative",
        })
        # zerolatency: no B-frames or lookahead, so each frame leaves the encoder as it goes in.
        self.video = self.container.add_stream("libx264", rate=fps, options={"crf": "20", "preset": "veryfast", "tune": "zerolatency"})
        self.video.width, self.video.height = width, height
        self.video.pix_fmt = "yuv420p"
        self.video.time_base = Fraction(1, fps)
        self.video.gop_size = max(1, round(_KEYFRAME_EVERY_S * fps))
        # PyAV's encoder resamples to the stream's rate as the audio arrives.
        self.audio = self.container.add_stream("aac", rate=media.AAC_SAMPLE_RATE, layout="mono")
        self.audio.bit_rate = 96_000
        self.sample_rate = sample_rate
        self.samples = 0

    def __enter__(self) -> _FragmentedMp4:
        return self

    def __exit__(self, error_type, *details) -> None:
        if error_type is None:
            self.container.mux(self.video.encode(None))
            self.container.mux(self.audio.encode(None))
        self.container.close()

    def add_audio(self, chunk: np.ndarray) -> None:
        if not chunk.size:
            return
        samples = np.ascontiguousarray(np.clip(chunk, -1.0, 1.0).reshape(1, -1), dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = self.samples
        self.samples += chunk.size
        self.container.mux(self.audio.encode(frame))

    def add_frame(self, index: int, image: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts = index
        self.container.mux(self.video.encode(frame))


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
