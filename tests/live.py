"""Live captures for tests: a clip that answers a known schedule, cut into the pieces MediaRecorder would send, and
streamed to the server with its clock set to each piece's arrival (no sleeping: the server's pace check sees the
times a camera streaming in real time would give, or faster, or held back).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.utils import timezone

from consent.services.live import LiveStream
from inference import media
from tests import clips
from tests.helpers import frozen_clock

FPS = 15
# A person starts turning this long after a prompt shows on the page (issue #15's stand-ins: 0.4-1.0 s), and starts
# reading the digits this long after they show.
REACTION_S = 0.6
TURN_HOLD_S = 0.7
DIGITS_AFTER_S = 0.5
SLICE_S = 0.25
# Chunks reach the server this long after the media they complete (tests/live.py's streams and the benchmark's).
LATENCY_S = 0.05
# The screen's light on the face as a share of the room's: a laptop screen at 40-80 cm in an office gives 0.025-0.1
# (docs/consent.md "Colour flash"). Through a browser's VP8 at 320 px, 0.02 passed the flash check in 8 of 8
# schedules and 0.01 in 4 of 8 (astronaut and obama2, seeds 7-10).
FLASH_STRENGTH = 0.05


def prompt_shown_s(due_s: float) -> float:
    """The media second at which a prompt due at server second `due_s` shows on the page when the clip is streamed by
    live_stream: with the answer to the first chunk that arrives once it is due. The server counts its seconds from
    chunk 0's arrival, so chunk k arrives at server second k * SLICE_S (the upload's latency is in every chunk alike)
    and completes media second (k + 1) * SLICE_S.
    """
    return (math.ceil(due_s / SLICE_S - 1e-9) + 1) * SLICE_S


def scheduled_clip(
    photo: np.ndarray,
    schedule: list[dict],
    *,
    turns: list[str] | None = None,
    reaction_s: float = REACTION_S,
    digits: str | None = None,
    flash_strength: float | None = FLASH_STRENGTH,
    flash_lag_s: float = 0.25,
    tail_s: float = 1.0,
    digits_after_s: float = DIGITS_AFTER_S,
    base_frames: list[np.ndarray] | None = None,
    transform: Callable[[list[np.ndarray]], list[np.ndarray]] | None = None,
) -> bytes:
    """WebM bytes (VP8 + Opus, as a browser records) of the photo's person answering `schedule`
    (consent.services.capture_schedule): each turn `reaction_s` after its prompt shows on the page
    (prompt_shown_s), the digits read `digits_after_s` after they show.

    turns / digits: answer other ones than the schedule's (a replay made for another challenge). The screen's flash
    lights the face with each colour at `flash_strength` of its light (tests/clips.py flash_reflected; None: no
    reflection) from `flash_lag_s` after the flash shows. tail_s: how long the recording goes on after the last
    prompt is due. base_frames: the face to pose, frame by frame (e.g. the engine's animation of the photo, looped;
    default the photo itself); transform: applied to all frames before they are encoded (blur, noise, colour...).
    """
    by_kind = {prompt["kind"]: prompt for prompt in schedule}
    turn_prompts = [prompt for prompt in schedule if prompt["kind"] == "turn"]
    answered = turns if turns is not None else [prompt["value"] for prompt in turn_prompts]
    seconds = by_kind["done"]["due_s"] + tail_s
    face, landmarks = clips.selfie(photo)
    sample_rate = media.AUDIO_SAMPLE_RATE
    audio = np.zeros(int(seconds * sample_rate), np.float32)
    spoken = clips._spoken(digits or by_kind["digits"]["value"], "en")
    start = int((prompt_shown_s(by_kind["digits"]["due_s"]) + digits_after_s) * sample_rate)
    spoken = spoken[: audio.size - start]
    audio[start : start + spoken.size] = spoken
    n_frames = int(round(seconds * FPS))
    mouth = clips.speech_envelope(audio, sample_rate, n_frames, FPS)
    windows = [
        (prompt_shown_s(prompt["due_s"]) + reaction_s, prompt_shown_s(prompt["due_s"]) + reaction_s + TURN_HOLD_S)
        for prompt in turn_prompts[: len(answered)]
    ]
    rng = np.random.default_rng(0)
    flash_prompt = by_kind["flash"]
    flash_start = prompt_shown_s(flash_prompt["due_s"]) + flash_lag_s
    flash_ends = flash_start + np.cumsum(flash_prompt["durations_ms"]) / 1000
    posed = []
    for index in range(n_frames):
        at = index / FPS
        base = face if base_frames is None else base_frames[index % len(base_frames)]
        frame = clips.mouth_opened(base, landmarks, float(mouth[index]))
        for direction, (begin, end) in zip(answered, windows, strict=False):
            frame = clips.head_turned(frame, landmarks, direction, clips._turn_amount(at, begin, end))
        if flash_strength is not None and flash_start <= at < flash_ends[-1]:
            colour = flash_prompt["colours"][int(np.searchsorted(flash_ends, at, side="right"))]
            frame = clips.flash_reflected(frame, landmarks, colour, flash_strength, rng=rng)
        posed.append(frame)
    if transform is not None:
        posed = transform(posed)
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
    latency_s: float = LATENCY_S,
):
    """Open a live capture, stream `webm` in pieces with the server's clock at each piece's arrival, then finish it.

    speed > 1 sends the media faster than it plays; held_from_s/hold_s delay every piece from that media second on
    by hold_s (a stream held back). Returns the finish response (or the first refused chunk's).
    """
    opened = client.post(captures_url, format="json")
    assert opened.status_code == 201, opened.json()
    return opened_stream(
        client,
        opened.json(),
        webm,
        speed=speed,
        held_from_s=held_from_s,
        hold_s=hold_s,
        finish=finish,
        latency_s=latency_s,
    )


def opened_stream(
    client,
    opened: dict,
    webm: bytes,
    *,
    speed: float = 1.0,
    held_from_s: float | None = None,
    hold_s: float = 0.0,
    finish: dict | None = None,
    latency_s: float = LATENCY_S,
):
    """Stream `webm` to a capture already opened (`opened`: the open call's answer), then finish it: live_stream's
    second half, for callers that read the capture's schedule before making the clip.
    """
    start = timezone.now()
    pieces = stream_pieces(webm)
    first_media = pieces[0][1]
    for seq, (piece, media_end) in enumerate(pieces):
        delay = hold_s if held_from_s is not None and media_end >= held_from_s else 0.0
        at = start + timedelta(seconds=(media_end - first_media) / speed + latency_s + delay)
        with frozen_clock(at):
            response = client.post(f"{opened['chunks_url']}{seq}/", data=piece, content_type="video/webm")
        if response.status_code != 200:
            return response
    with frozen_clock(at + timedelta(seconds=0.3)):
        return client.post(opened["finish_url"], finish or {}, format="json")


def stream_as_received(webm: bytes, schedule: list[dict]) -> LiveStream:
    """What the server hands the analysis once live_stream has streamed `webm` for `schedule` at a camera's pace
    (consent.services.live): each piece's arrival and each prompt revealed by the first piece that arrives once it is
    due. For measuring the analysis without a database (benchmarks.capture_cost).
    """
    pieces = stream_pieces(webm)
    first_media = pieces[0][1]
    arrivals: list[tuple[int, float]] = []
    received = 0
    for piece, media_end in pieces:
        received += len(piece)
        arrivals.append((received, round(media_end - first_media, 3)))
    revealed = {
        prompt["id"]: next(elapsed for _bytes, elapsed in arrivals if elapsed >= prompt["due_s"]) for prompt in schedule
    }
    by_kind = {prompt["kind"]: prompt for prompt in schedule}
    turns = [prompt for prompt in schedule if prompt["kind"] == "turn"]
    flash = by_kind["flash"]
    return LiveStream(
        data=webm,
        arrivals=arrivals,
        turns=[turn["value"] for turn in turns],
        turn_revealed_s=[revealed[turn["id"]] for turn in turns],
        digits=by_kind["digits"]["value"],
        digits_revealed_s=revealed[by_kind["digits"]["id"]],
        flash={"colours": flash["colours"], "durations_ms": flash["durations_ms"], "revealed_s": revealed[flash["id"]]},
    )
