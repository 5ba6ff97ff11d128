"""Where the audio-only path places lip closures on recorded English speech, against the aligner's phones.

Allison's four English Asterisk prompts (benchmarks/recorded_speech.py's), from both packages (8 kHz wav, 16 kHz
g722), quiet and under the benchmarks' seeded pink noise 15 dB below the speech (seed: the prompt's number), with the
0.3 s lead-in and tail. Each is read as an upload is, its closures placed as acoustic_track places them
(articulation.placed_closures) and its phones by the English aligner (recognition.aligned_phonemes, on the clean
recording). Per clip and overall it prints:

- precision: the share of placed lip closures within MARGIN_S of a /p b m/ phone;
- recall: the share of /p b m/ phones within MARGIN_S of a placed lip closure;
- lip closures placed per second of speech (speech: recorded_speech's frames within 30 dB of the loud end);
- track closures per second: the lips shutting on the track (lip_close 0.95 or more after the lips parted by 0.1),
  a proxy for the rate the judge counts on a render;
- the phones nearest the closures on no bilabial (where they overlap most), to say which sounds they come from.

With --portrait-clips it prints instead the track's rate on every clip of benchmarks/recorded_portraits.py's default
run (all five languages; their audio, not their render) and how many are at 1.4-3 per second.

    python -m benchmarks.lip_closure_precision [--packages wav,g722] [--portrait-clips]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchmarks import recorded_portraits, recorded_speech
from benchmarks.recorded_speech import Prompt
from benchmarks.reference_faces import BENCHMARK_PORTRAITS, portraits
from inference import media, recognition
from inference.animation import frame_count
from inference.articulation import CLOSE, JAW, acoustic_track, placed_closures
from inference.visemes import segments

FPS = recorded_speech.FPS
RATE = media.AUDIO_SAMPLE_RATE
MARGIN_S = 0.04
ROOMS = {"quiet": None, "noisy": recorded_speech.NOISE_SNR_DB}


@dataclass(frozen=True)
class ClipPlacement:
    """Lip closures placed on one clip, against its aligned phones."""

    name: str
    seconds_of_speech: float
    placed: int  # lip closures placed over the speech
    on_bilabial: int  # of them, within MARGIN_S of a /p b m/
    bilabials: int
    bilabials_closed: int  # /p b m/ within MARGIN_S of a placed lip closure
    track_closures: int  # the lips shutting on the track
    false_phones: tuple[str, ...]  # the phone each closure on no bilabial overlaps most


def is_bilabial(ipa: str) -> bool:
    return any(part.bilabial for part in segments(ipa))


def _near(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] - MARGIN_S < b[1] and b[0] < a[1] + MARGIN_S


def _overlapping_phone(closure: tuple[float, float], phones: Sequence[tuple[float, float, str]]) -> str:
    """The phone overlapping the closure most, or nearest to it."""

    def overlap(phone: tuple[float, float, str]) -> float:
        return min(closure[1], phone[1]) - max(closure[0], phone[0])

    return max(phones, key=overlap)[2]


def track_closures(track: np.ndarray, speaking: np.ndarray) -> int:
    """The lips shutting on a (n, 5) track (lip_close 0.95 or more after they parted by more than 0.1), from the first
    to the last frame of speaking (n,) bool: recorded_speech.score's count, on the track instead of a render."""
    spoken = np.flatnonzero(speaking)
    closures, opened = 0, False
    for frame in range(spoken[0], spoken[-1] + 1):
        opened |= bool(track[frame, JAW] * (1 - track[frame, CLOSE]) > 0.1)
        if opened and track[frame, CLOSE] >= 0.95:
            closures, opened = closures + 1, False
    return closures


def _speech(recorded: np.ndarray, n_frames: int) -> np.ndarray:
    clean = recorded_speech.in_room(recorded, RATE, None, 0)
    return recorded_speech.speech_frames_mask(clean, RATE, n_frames)


def measure(prompt: Prompt, room: str, seed: int) -> ClipPlacement | None:
    """One prompt in one room; None where the aligner cannot align it."""
    recorded = recorded_speech.load(prompt)
    aligned = recognition.aligned_phonemes(recorded, RATE, prompt.transcript)
    if aligned is None:
        return None
    phones = [(start + recorded_speech.LEAD_S, end + recorded_speech.LEAD_S, ipa) for start, end, ipa in aligned]
    heard = recorded_speech.in_room(recorded, RATE, ROOMS[room], seed)
    n_frames = frame_count(len(heard), RATE, FPS)
    speaking = _speech(recorded, n_frames)
    spoken = (phones[0][0] - MARGIN_S, phones[-1][1] + MARGIN_S)
    lip = [(a, b) for a, b, labial in placed_closures(heard, RATE, n_frames, FPS) if labial and _near((a, b), spoken)]
    bilabials = [(a, b) for a, b, ipa in phones if is_bilabial(ipa)]
    on_bilabial = [closure for closure in lip if any(_near(closure, phone) for phone in bilabials)]
    return ClipPlacement(
        name=f"{prompt.name}/{recorded_speech.BANDS[prompt.package]}/{room}",
        seconds_of_speech=float(speaking.sum()) / FPS,
        placed=len(lip),
        on_bilabial=len(on_bilabial),
        bilabials=len(bilabials),
        bilabials_closed=sum(any(_near(phone, closure) for closure in lip) for phone in bilabials),
        track_closures=track_closures(acoustic_track(heard, RATE, n_frames, FPS), speaking),
        false_phones=tuple(_overlapping_phone(c, phones) for c in lip if c not in on_bilabial),
    )


def portrait_clip_rates() -> list[tuple[str, float]]:
    """(name, the track's closures per second of speech) for every clip of recorded_portraits' default run (its
    recording, room and noise seed; the audio, not the render)."""
    rates = []
    for index, portrait in enumerate([*portraits(), *BENCHMARK_PORTRAITS]):  # recorded_portraits' order
        for recording in recorded_portraits.portrait_recordings(index, 4):
            prompt = recording.prompt
            recorded = recorded_speech.load(prompt)
            heard = recorded_speech.in_room(recorded, RATE, ROOMS[recording.mode], recording.seed)
            n_frames = frame_count(len(heard), RATE, FPS)
            speaking = _speech(recorded, n_frames)
            closures = track_closures(acoustic_track(heard, RATE, n_frames, FPS), speaking)
            band = recorded_speech.BANDS[prompt.package]
            rates.append(
                (
                    f"{portrait}/{prompt.language}/{prompt.name}/{band}/{recording.mode}",
                    closures / (speaking.sum() / FPS),
                )
            )
    return rates


def _print_clip(c: ClipPlacement) -> None:
    print(
        f"{c.name:36s} speech {c.seconds_of_speech:4.1f} s  lip closures {c.placed:2d}, on /p b m/ {c.on_bilabial:2d}"
        f"  /p b m/ closed {c.bilabials_closed:2d} of {c.bilabials:2d}  placed/s {c.placed / c.seconds_of_speech:4.2f}"
        f"  track/s {c.track_closures / c.seconds_of_speech:4.2f}",
        flush=True,
    )


def _print_summary(clips: Sequence[ClipPlacement]) -> None:
    for room in ROOMS:
        _print_total(room, [c for c in clips if c.name.endswith(room)])
    _print_total("all", clips)
    false = Counter(phone for c in clips for phone in c.false_phones)
    print(
        "closures on no /p b m/, by the phone they overlap most: "
        + ", ".join(f"{p} {n}" for p, n in false.most_common())
    )


def _print_total(label: str, clips: Sequence[ClipPlacement]) -> None:
    placed = sum(c.placed for c in clips)
    seconds = sum(c.seconds_of_speech for c in clips)
    on, bilabials = sum(c.on_bilabial for c in clips), sum(c.bilabials for c in clips)
    closed = sum(c.bilabials_closed for c in clips)
    print(
        f"{label:6s} precision {on}/{placed} = {on / max(placed, 1):.0%}  recall {closed}/{bilabials} ="
        f" {closed / max(bilabials, 1):.0%}  placed/s {placed / seconds:.2f}"
        f"  track/s {sum(c.track_closures for c in clips) / seconds:.2f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", default="wav,g722", help="comma-separated, of wav,g722")
    parser.add_argument("--portrait-clips", action="store_true", help="the track's rate on PORTRAIT_CLIPS instead")
    args = parser.parse_args(argv)
    if not recorded_speech.SOUNDS.exists():
        print(f"no Asterisk prompts at {recorded_speech.SOUNDS}: apt-get install asterisk-core-sounds-en-wav")
        return 1
    if args.portrait_clips:
        rates = portrait_clip_rates()
        low, high = recorded_speech.TARGET_CLOSURES_PER_S
        for name, rate in rates:
            print(f"{name:55s} track closures/s {rate:.2f}{'' if low <= rate <= high else '  outside'}")
        inside = sum(low <= rate <= high for _, rate in rates)
        print(f"{inside} of {len(rates)} clips at {low}-{high} track closures per second")
        return 0
    packages = [p.strip() for p in args.packages.split(",") if p.strip()]
    prompts = recorded_speech.available_prompts(["en"], len(recorded_speech.PROMPTS["en"]), packages)
    clips = []
    for number, prompt in enumerate(prompts):
        for room in ROOMS:
            clip = measure(prompt, room, seed=number)
            if clip is None:
                print(f"{prompt.name}/{recorded_speech.BANDS[prompt.package]}: not aligned")
                continue
            clips.append(clip)
            _print_clip(clip)
    _print_summary(clips)
    return 0


if __name__ == "__main__":
    sys.exit(main())
