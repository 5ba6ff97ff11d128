"""Live captures for tests: a clip that answers a known schedule, cut into the pieces MediaRecorder would send, and
streamed to the server with its clock set to each piece's arrival (no sleeping: the server's pace check sees the
times a camera streaming in real time would give, or faster, or held back).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.utils import timezone

from inference import faces, media
from tests import clips
from tests.helpers import frozen_clock

FPS = 15
# Chunk 0 arrives one timeslice after recording starts, so a prompt due at second d of the server's clock is seen at
# about media second d + 0.25-0.5 (revealed with the next chunk); a person starts turning ~0.6 s after that.
REACTION_S = 0.9
TURN_HOLD_S = 0.7
DIGITS_AFTER_S = 0.8
SLICE_S = 0.25


def scheduled_clip(
    photo: np.ndarray,
    schedule: list[dict],
    *,
    turns: list[str] | None = None,
    reaction_s: float = REACTION_S,
    digits: str | None = None,
    flash: Callable[[np.ndarray, np.ndarray, str], np.ndarray] | None = None,
    flash_lag_s: float = 0.5,
    tail_s: float = 1.0,
) -> bytes:
    """WebM bytes (VP8 + Opus, as a browser records) of the photo's person answering `schedule`
    (consent.services.capture_schedule): each turn `reaction_s` after it is due, the digits read after they are due.

    turns / digits: answer other ones than the schedule's (a replay made for another challenge). flash(frame,
    landmarks, colour) lights the face with each flash colour from `flash_lag_s` after the flash is due. tail_s: how
    long the recording goes on after the last prompt is due.
    """
    by_kind = {prompt["kind"]: prompt for prompt in schedule}
    turn_prompts = [prompt for prompt in schedule if prompt["kind"] == "turn"]
    answered = turns if turns is not None else [prompt["value"] for prompt in turn_prompts]
    seconds = by_kind["done"]["due_s"] + tail_s
    face = clips.face_crop(photo)
    landmarks = faces.face_single(face).landmarks
    sample_rate = media.AUDIO_SAMPLE_RATE
    audio = np.zeros(int(seconds * sample_rate), np.float32)
    spoken = clips._spoken(digits or by_kind["digits"]["value"], "en")
    start = int((by_kind["digits"]["due_s"] + DIGITS_AFTER_S) * sample_rate)
    spoken = spoken[: audio.size - start]
    audio[start : start + spoken.size] = spoken
    n_frames = int(round(seconds * FPS))
    mouth = clips.speech_envelope(audio, sample_rate, n_frames, FPS)
    windows = [
        (prompt["due_s"] + reaction_s, prompt["due_s"] + reaction_s + TURN_HOLD_S)
        for prompt in turn_prompts[: len(answered)]
    ]
    flash_prompt = by_kind["flash"]
    flash_start = flash_prompt["due_s"] + flash_lag_s
    flash_ends = flash_start + np.cumsum(flash_prompt["durations_ms"]) / 1000
    posed = []
    for index in range(n_frames):
        at = index / FPS
        frame = clips.mouth_opened(face, landmarks, float(mouth[index]))
        for direction, (begin, end) in zip(answered, windows, strict=False):
            frame = clips.head_turned(frame, landmarks, direction, clips._turn_amount(at, begin, end))
        if flash is not None and flash_start <= at < flash_ends[-1]:
            colour = flash_prompt["colours"][int(np.searchsorted(flash_ends, at, side="right"))]
            frame = flash(frame, landmarks, colour)
        posed.append(frame)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        media.mp4_write(path, posed, audio, sample_rate, fps=FPS, crf=20)
        return clips.as_browser_webm(path.read_bytes(), fps=FPS)


def stream_pieces(webm: bytes, slice_s: float = SLICE_S) -> list[tuple[bytes, float]]:
    """The stream cut as MediaRecorder(timeslice) sends it: each piece ends after the last packet of its slice; with the
    media second that piece completes.
    """
    ends = media.packet_arrivals(webm, max_packets=10_000)
    pieces: list[tuple[bytes, float]] = []
    cut, boundary = 0, slice_s
    last_time = max(end for _, end in ends)
    while cut < len(webm):
        inside = [byte_end for byte_end, end in ends if end <= boundary + 1e-6]
        new_cut = max([cut, *inside]) if boundary < last_time else len(webm)
        if new_cut > cut:
            pieces.append((webm[cut:new_cut], min(boundary, last_time)))
            cut = new_cut
        boundary += slice_s
    return pieces


def live_stream(
    client,
    captures_url: str,
    webm: bytes,
    *,
    speed: float = 1.0,
    held_from_s: float | None = None,
    hold_s: float = 0.0,
    finish: dict | None = None,
    latency_s: float = 0.05,
):
    """Open a live capture, stream `webm` in pieces with the server's clock at each piece's arrival, then finish it.

    speed > 1 sends the media faster than it plays; held_from_s/hold_s delay every piece from that media second on
    by hold_s (a stream held back). Returns the finish response (or the first refused chunk's).
    """
    opened = client.post(captures_url, format="json")
    assert opened.status_code == 201, opened.json()
    body = opened.json()
    start = timezone.now()
    pieces = stream_pieces(webm)
    first_media = pieces[0][1]
    for seq, (piece, media_end) in enumerate(pieces):
        delay = hold_s if held_from_s is not None and media_end >= held_from_s else 0.0
        at = start + timedelta(seconds=(media_end - first_media) / speed + latency_s + delay)
        with frozen_clock(at):
            response = client.post(f"{body['chunks_url']}{seq}/", data=piece, content_type="video/webm")
        if response.status_code != 200:
            return response
    with frozen_clock(at + timedelta(seconds=0.3)):
        return client.post(body["finish_url"], finish or {}, format="json")
