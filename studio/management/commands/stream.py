"""manage.py stream: live mode shown end to end, a consented portrait speaking audio fed in chunks, written as
fragmented
MP4 as it plays.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError

import inference
from consent.models import Purpose
from core.errors import ApplicationError
from core.parsers import uuid_or_none
from inference import media
from inference.errors import InferenceError
from provenance.services import live_frame_filter
from studio.models import Portrait, Render
from studio.selectors import render_live_allowed
from studio.services import (
    live_render_finish,
    live_render_start,
    portrait_rig_load,
    render_mark_failed,
)


class Command(BaseCommand):
    help = (
        "Stream a talking video of a consented portrait: the audio file is fed to the engine in chunks as a live "
        "source "
        "would deliver it, and every frame is labelled, watermarked and written to a fragmented MP4 (H.264 + AAC) as "
        "soon "
        "as it is drawn. The session is recorded as a render (the verifier recognises its video); refuses without "
        "active "
        "consent for the purpose, and stops if consent is withdrawn. Prints the added latency and speed to stderr."
    )

    def add_arguments(self, parser):
        parser.add_argument("--portrait", required=True, help="portrait id")
        parser.add_argument(
            "--audio", type=Path, required=True, help="speech audio file (WAV, MP3, OGG, FLAC, M4A), fed in as if live"
        )
        parser.add_argument("--out", required=True, help="where to write the fragmented MP4, or - for stdout")
        parser.add_argument(
            "--chunk-ms", type=int, default=20, help="length of each audio chunk fed in (default 20 ms, a microphone's)"
        )
        parser.add_argument("--purpose", default="personal", choices=Purpose.values)
        parser.add_argument(
            "--realtime", action="store_true", help="feed the chunks at the pace of speech, as a microphone would"
        )

    def handle(self, *args, portrait, audio, out, chunk_ms, purpose, realtime, **options):
        if chunk_ms <= 0:
            raise CommandError("--chunk-ms must be positive")
        found = Portrait.objects.filter(id=portrait, erased_at__isnull=True).first() if uuid_or_none(portrait) else None
        if found is None:
            raise CommandError(f"no portrait with id {portrait}")
        if not audio.is_file():
            raise CommandError(f"audio file not found: {audio}")
        recording = audio.read_bytes()
        try:
            render = live_render_start(portrait=found, purpose=purpose, audio=SimpleUploadedFile(audio.name, recording))
        except ApplicationError as error:
            raise CommandError(f"{error.code}: {error.detail}") from error
        try:
            report = _stream(render, recording, out, chunk_ms=chunk_ms, realtime=realtime)
        except (InferenceError, OSError) as error:
            render_mark_failed(render_id=render.id, reason=str(error))
            raise CommandError(f"the stream failed: {error}") from error
        except KeyboardInterrupt:
            # Ctrl-C is how a live session usually ends: what was written stays a playable, watermarked video.
            render_mark_failed(render_id=render.id, reason="the live stream was interrupted")
            raise
        if report.stopped:
            live_render_finish(render=render, status=Render.Status.CANCELLED, error="consent is no longer active")
            raise CommandError(f"the stream was stopped after {report.frames} frames: consent is no longer active")
        live_render_finish(render=render, status=Render.Status.DONE, duration_s=report.audio_s)
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
            f"added latency: at most {max(self.added_s) * 1000:.0f} ms of audio beyond a frame's time had arrived "
            "when it was drawn "
            f"(the engine's lookahead, {max(self.lookahead_s) * 1000:.0f} ms, and the wait for the {chunk_ms} ms "
            "chunk that completed it)",
            f"speed: {self.frames / max(self.seconds, 1e-9):.1f} frames per second",
        ]
        if self.behind_s:
            lines.append(
                f"behind the live audio: {np.mean(self.behind_s) * 1000:.0f} ms on average, at most "
                f"{max(self.behind_s) * 1000:.0f} ms"
            )
        return "\n".join(lines)


def _stream(render: Render, recording: bytes, out: str, *, chunk_ms: int, realtime: bool) -> _Report:
    """Feed the decoded recording in chunks to inference.stream and write each frame as it comes; stops when consent
    ends.
    """
    sample_rate = media.AUDIO_SAMPLE_RATE
    fps = settings.CANDOR_RENDER_FPS
    audio = media.audio_decode(recording, sample_rate=sample_rate)
    rig = portrait_rig_load(portrait=render.portrait, max_side=settings.CANDOR_RENDER_MAX_SIDE)
    report = _Report()
    target = sys.stdout.buffer if out == "-" else _opened(Path(out))
    try:
        with media.FragmentedMp4Writer(
            target, width=rig.image.shape[1], height=rig.image.shape[0], fps=fps, sample_rate=sample_rate
        ) as mp4:
            marked = live_frame_filter(render=render, sound=(audio, sample_rate))
            source = _LiveAudio(
                audio,
                sample_rate,
                max(1, round(chunk_ms * sample_rate / 1000)),
                realtime=realtime,
                on_chunk=mp4.add_audio,
            )
            frames = inference.stream(
                rig, source, sample_rate, fps=fps, seed=render.watermark_serial, frame_filter=marked
            )
            for live in frames:
                mp4.add_frame(live.index, live.image)
                target.flush()
                report.frames += 1
                report.added_s.append(source.handed_out / sample_rate - live.time_s)
                report.lookahead_s.append(live.heard_s - live.time_s)
                if realtime:
                    report.behind_s.append(time.monotonic() - source.started - live.time_s)
                if report.frames % fps == 0 and not render_live_allowed(render_id=render.id):
                    report.stopped = True
                    break
            # The tracks cover every frame sent, the last partial second too.
            marked.store()
            report.seconds = time.monotonic() - source.started
    finally:
        if target is not sys.stdout.buffer:
            target.close()
    report.audio_s = audio.size / sample_rate
    return report


def _opened(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("wb")


class _LiveAudio:
    """Decoded mono audio (N,) handed out chunk by chunk as a live source would, optionally at the pace of speech."""

    def __init__(
        self,
        audio: np.ndarray,
        sample_rate: int,
        chunk_samples: int,
        *,
        realtime: bool,
        on_chunk: Callable[[np.ndarray], None],
    ) -> None:
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
