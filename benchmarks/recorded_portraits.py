"""Every benchmark portrait driven by recorded human speech through the audio-only path, judged on issue #17's targets.

Each portrait speaks a few of benchmarks/recorded_speech.py's Asterisk prompts (read as uploads are, with its
lead-in and tail, quiet or under its seeded room noise), rotated so that every portrait hears several voices and
languages, both packages (8 kHz telephone band and 16 kHz) and both rooms (see portrait_recordings). Per clip it
prints recorded_speech's measures (lag, closures per second of speech, lips shut in loud frames, pauses closed,
all against the clean recording), the identity distance's 90th percentile and the inside of the mouth on the clip's
widest frames (quality.py's measures), then per target how many clips meet it, and writes a contact sheet: per clip
its mouth on a few frames over the curves of the lips' gap and the sound; and a close-up sheet: per clip the mouth
on its three widest frames, enlarged, where jagged teeth or a black hole would show.

    python -m benchmarks.recorded_portraits [--per-portrait 4] [--only astronaut,closed] [--out var/quality]

The default run is 36 clips (9 portraits, 4 recordings each, about 150 s of speech); on the shared 2-core
development machine, beside four other jobs, it took 23 and 31 minutes (docs/engine.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from benchmarks import quality, recorded_speech
from benchmarks.quality import InteriorScore
from benchmarks.recorded_speech import Prompt, SpeechScore
from benchmarks.reference_faces import Reference, benchmark_portraits, descriptor, nose_base, reference
from inference import media
from inference.animation import animate

FPS = quality.FPS
MODES = ("quiet", "noisy")
PACKAGES = ("wav", "g722")
_IDENTITY_EVERY = 4  # frames between identity descriptors
_SHEET_FRAMES = 8
_SHEET_GAP = 0.4  # eye distances at the top of the sheet's curve
# The close-up sheet's mouth: from just under the nose to below a dropped jaw, and as wide, in eye distances.
_CLOSE_UP_TOP, _CLOSE_UP_BOTTOM, _CLOSE_UP_HALF_WIDTH = 0.1, 1.0, 0.55
_CLOSE_UP_TILE = 240  # px wide


@dataclass(frozen=True)
class Recording:
    """One prompt as a portrait hears it: its room and the noise's seed."""

    prompt: Prompt
    mode: str  # quiet or noisy
    seed: int


@dataclass(frozen=True)
class PortraitClip:
    """One portrait speaking one recording, measured."""

    portrait: str
    speech: SpeechScore
    identity_p90: float
    inside: InteriorScore


def portrait_recordings(index: int, per_portrait: int, seed: int = 0) -> list[Recording]:
    """The recordings the index-th portrait speaks: turn t = index * per_portrait + slot takes the next language in
    turn and, every round of languages, that language's next prompt; the package alternates with index + slot and
    the room with slot, so each portrait hears both bands and both rooms and the languages rotate over portraits."""
    languages = tuple(recorded_speech.PROMPTS)
    chosen = []
    for slot in range(per_portrait):
        turn = index * per_portrait + slot
        language = languages[turn % len(languages)]
        names = recorded_speech.PROMPTS[language]
        name = names[(turn // len(languages)) % len(names)]
        transcript = recorded_speech.transcripts(language)[name]
        prompt = Prompt(language, name, PACKAGES[(index + slot) % 2], transcript)
        chosen.append(Recording(prompt, MODES[slot % 2], seed + turn))
    return chosen


def judge(
    portrait: str, name: str, frames: Sequence[np.ndarray], ref: Reference, clean: np.ndarray, rate: int
) -> tuple[PortraitClip, np.ndarray]:
    """A clip's measures and its inner-lip gap (n_frames,), eye distances."""
    gap = recorded_speech.apertures(frames, ref)
    distances = [
        float(np.linalg.norm(descriptor(np.ascontiguousarray(frame), ref.box) - ref.descriptor))
        for frame in frames[::_IDENTITY_EVERY]
    ]
    widest = quality.widest_frames(gap)
    inside = quality.interior_score([quality.mouth_interior(np.ascontiguousarray(frames[i]), ref) for i in widest])
    clip = PortraitClip(
        portrait=portrait,
        speech=recorded_speech.score(name, gap, clean, rate),
        identity_p90=float(np.percentile(distances, 90)),
        inside=inside,
    )
    return clip, gap


# Issue #17's targets, per clip.
CHECKS: list[tuple[str, Callable[[PortraitClip], bool]]] = [
    ("lag 0 ±1 frame", lambda c: abs(c.speech.lag) <= quality.TARGET_OFFSET_FRAMES),
    (
        "closures 1.4-3 per second of speech",
        lambda c: quality.TARGET_CLOSURES_PER_S[0] <= c.speech.closures_per_s <= quality.TARGET_CLOSURES_PER_S[1],
    ),
    ("shut in <= 45% of loud frames", lambda c: c.speech.shut_when_loud <= quality.TARGET_SHUT_LOUD),
    ("lips closed in >= 80% of pauses", lambda c: c.speech.pauses_closed >= quality.TARGET_PAUSES_CLOSED),
    ("identity p90 <= 0.40", lambda c: c.identity_p90 <= quality.TARGET_IDENTITY_P90),
    ("teeth edges within 1.5 px (3% of the mouth) of smooth", lambda c: c.inside.teeth_roughness_ok),
    (
        "lower teeth in >= 50% of the middle on openings >= 0.3",
        lambda c: not c.inside.lower_teeth < quality.TARGET_LOWER_TEETH,  # nan: never that wide
    ),
    (
        "cavity not a black hole (<= 20% black) and darker at the back (front/back >= 1.2)",
        lambda c: (
            c.inside.black_share <= quality.TARGET_BLACK_SHARE and c.inside.cavity_depth >= quality.TARGET_CAVITY_DEPTH
        ),
    ),
]


def benchmark(out: Path, per_portrait: int, seed: int, only: Sequence[str] = ()) -> bool:
    """Render and judge every benchmark portrait (or only those named); True if every clip meets every target."""
    photos = benchmark_portraits()
    rate = media.AUDIO_SAMPLE_RATE
    clips: list[PortraitClip] = []
    sheet_rows = []
    close_ups = []
    started = time.perf_counter()
    for index, (portrait, photo) in enumerate(photos.items()):
        if only and portrait not in only:
            continue
        first = next(animate(photo, np.zeros(1600, np.float32), 16000, fps=FPS))
        ref = reference(cv2.resize(photo, (first.shape[1], first.shape[0]), interpolation=cv2.INTER_AREA))
        for recording in portrait_recordings(index, per_portrait, seed):
            prompt = recording.prompt
            recorded = recorded_speech.load(prompt)
            clean = recorded_speech.in_room(recorded, rate, None, recording.seed)
            snr = recorded_speech.NOISE_SNR_DB if recording.mode == "noisy" else None
            heard = recorded_speech.in_room(recorded, rate, snr, recording.seed)
            frames = list(animate(photo, heard, rate, fps=FPS, seed=recording.seed))
            name = (
                f"{portrait}/{prompt.language}/{prompt.name}/{recorded_speech.BANDS[prompt.package]}/{recording.mode}"
            )
            clip, gap = judge(portrait, name, frames, ref, clean, rate)
            clips.append(clip)
            envelope = quality.speech_envelope(clean, rate, len(gap), FPS)
            sheet_rows.append((name, _sheet_frames(frames, gap, ref), gap, envelope))
            close_ups.append((name, _mouth_close_ups(frames, gap, ref)))
            _print_clip(clip)
    sheet = out / "recorded_portraits.png"
    contact_sheet(sheet_rows, sheet)
    close_up = out / "recorded_portraits_mouths.png"
    close_up_sheet(close_ups, close_up)
    print(f"\n{len(clips)} clips, {time.perf_counter() - started:.0f} s; sheets: {sheet}, {close_up}")
    _print_portraits(clips)
    passed = True
    for label, check in CHECKS:
        failing = [c.speech.name for c in clips if not check(c)]
        passed &= not failing
        print(f"{'FAIL' if failing else 'PASS'}  {label}: {len(clips) - len(failing)}/{len(clips)} clips", end="")
        print(f" (failing: {', '.join(failing)})" if failing else "")
    return passed


def _print_clip(c: PortraitClip) -> None:
    s, i = c.speech, c.inside
    print(
        f"{s.name:52s} speech {s.seconds_of_speech:4.1f} s  lag {s.lag:+d}  closures/s {s.closures_per_s:4.2f}"
        f"  shut when loud {s.shut_when_loud:4.0%}  pauses closed {s.pauses_closed:4.0%} of {s.pauses}"
        f"  identity p90 {c.identity_p90:.3f}  teeth edges {i.teeth_roughness:.1f} px, lower teeth {i.lower_teeth:.0%},"
        f" black {i.black_share:.0%}, front/back {i.cavity_depth:.1f}",
        flush=True,
    )


def _print_portraits(clips: Sequence[PortraitClip]) -> None:
    """Per portrait, over all its clips: closures per second of its speech, shut loud frames, pauses closed."""
    print(f"{'portrait':14s} {'clips':>5s} {'closures/s':>10s} {'shut loud':>9s} {'pauses closed':>13s}")
    for portrait in dict.fromkeys(c.portrait for c in clips):
        own = [c.speech for c in clips if c.portrait == portrait]
        seconds = sum(s.seconds_of_speech for s in own)
        pauses = sum(s.pauses for s in own)
        closed = sum(round(s.pauses_closed * s.pauses) for s in own if s.pauses)
        print(
            f"{portrait:14s} {len(own):5d} {sum(s.closures_per_s * s.seconds_of_speech for s in own) / seconds:10.2f}"
            f" {np.mean([s.shut_when_loud for s in own]):9.0%} {closed:6d} of {pauses:<4d}"
        )


def _sheet_frames(frames: Sequence[np.ndarray], gap: np.ndarray, ref: Reference) -> list[tuple[int, np.ndarray]]:
    """(frame index, face crop) for the sheet: the clip's three widest frames and the rest spread over it, in time
    order."""
    widest = quality.widest_frames(gap, 3)
    spread = np.linspace(0, len(gap) - 1, _SHEET_FRAMES - len(widest) + 2).astype(int)[1:-1]
    chosen = sorted(set(widest) | {int(i) for i in spread})[:_SHEET_FRAMES]
    centre = nose_base(ref.points)
    half = 1.3 * ref.eye_distance
    x0, y0 = int(max(centre[0] - half, 0)), int(max(centre[1] - 1.2 * half, 0))
    y1, x1 = int(centre[1] + 0.9 * half), int(centre[0] + half)
    return [(i, np.ascontiguousarray(frames[i][y0:y1, x0:x1])) for i in chosen]


def _mouth_close_ups(frames: Sequence[np.ndarray], gap: np.ndarray, ref: Reference) -> list[tuple[int, np.ndarray]]:
    """(frame index, mouth crop) on the clip's three widest frames, in time order."""
    nose = nose_base(ref.points)
    half = _CLOSE_UP_HALF_WIDTH * ref.eye_distance
    y0, y1 = int(nose[1] + _CLOSE_UP_TOP * ref.eye_distance), int(nose[1] + _CLOSE_UP_BOTTOM * ref.eye_distance)
    x0, x1 = int(max(nose[0] - half, 0)), int(nose[0] + half)
    return [(i, np.ascontiguousarray(frames[i][max(y0, 0) : y1, x0:x1])) for i in sorted(quality.widest_frames(gap, 3))]


def close_up_sheet(rows: Sequence[tuple[str, list[tuple[int, np.ndarray]]]], path: Path) -> None:
    """Write a PNG: per clip its name and its mouth close-ups, enlarged _CLOSE_UP_TILE px wide (Lanczos), each
    with its frame index and the crop's size in the render (px)."""
    import matplotlib.font_manager
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(matplotlib.font_manager.findfont("DejaVu Sans"), 12)
    label_width, columns = 330, max((len(crops) for _, crops in rows), default=1)
    tiles = [
        [
            (
                i,
                crop,
                Image.fromarray(crop).resize(
                    (_CLOSE_UP_TILE, round(_CLOSE_UP_TILE * crop.shape[0] / crop.shape[1])), Image.Resampling.LANCZOS
                ),
            )
            for i, crop in crops
        ]
        for _, crops in rows
    ]
    heights = [max((tile.height for _, _, tile in row), default=0) + 18 for row in tiles]
    sheet = Image.new("RGB", (label_width + columns * (_CLOSE_UP_TILE + 4), max(sum(heights), 1)), "white")
    draw = ImageDraw.Draw(sheet)
    y = 0
    for (name, _), row, height in zip(rows, tiles, heights, strict=True):
        draw.text((4, y + height // 2), name.replace("/", " / "), fill="black", font=font)
        for column, (index, crop, tile) in enumerate(row):
            x = label_width + column * (_CLOSE_UP_TILE + 4)
            sheet.paste(tile, (x, y))
            draw.text(
                (x + 4, y + tile.height + 2), f"f{index}, {crop.shape[1]}x{crop.shape[0]} px", fill="black", font=font
            )
        y += height
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def contact_sheet(
    rows: Sequence[tuple[str, list[tuple[int, np.ndarray]], np.ndarray, np.ndarray]], path: Path, tile: int = 112
) -> None:
    """Write a PNG: per clip its name, face crops on a few frames (index and lips' gap under each) and, below them,
    the lips' gap over the clip (blue, 0-0.4 eye distances, the judge's closed line in red) and the clean
    recording's RMS (grey), the crops' frames marked."""
    import matplotlib.font_manager
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(matplotlib.font_manager.findfont("DejaVu Sans"), 12)
    label_width, curve_height = 330, 70
    row_height = tile + 16 + curve_height + 10
    width = label_width + _SHEET_FRAMES * tile
    sheet = Image.new("RGB", (width, max(len(rows), 1) * row_height), "white")
    draw = ImageDraw.Draw(sheet)
    for row, (name, crops, gap, envelope) in enumerate(rows):
        y = row * row_height
        draw.text((4, y + tile // 2), name.replace("/", " / "), fill="black", font=font)
        for column, (index, crop) in enumerate(crops):
            sheet.paste(Image.fromarray(crop).resize((tile, tile)), (label_width + column * tile, y))
            draw.text(
                (label_width + column * tile + 4, y + tile + 1), f"f{index} {gap[index]:.2f}", fill="black", font=font
            )
        top, left, span = y + tile + 16, label_width, _SHEET_FRAMES * tile - 1
        box = (left, top, span, curve_height)
        draw.rectangle((left, top, left + span, top + curve_height), outline="lightgrey")
        draw.line(_curve(envelope / max(float(envelope.max()), 1e-9), box), fill="grey", width=1)
        closed = _curve(np.full(2, quality.CLOSED_APERTURE / _SHEET_GAP), box)
        draw.line(closed, fill="red", width=1)
        draw.line(_curve(gap / _SHEET_GAP, box), fill="blue", width=2)
        for index, _ in crops:
            x = left + span * index / max(len(gap) - 1, 1)
            draw.line([(x, top), (x, top + 6)], fill="black", width=1)
        draw.text((4, top + curve_height // 2), "lips' gap (blue), sound (grey)", fill="grey", font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def _curve(values: np.ndarray, box: tuple[int, int, int, int]) -> list[tuple[float, float]]:
    """Points drawing values (n,) 0..1 across box (left, top, width, height), 1 at the top."""
    left, top, width, height = box
    xs = left + width * np.arange(len(values)) / max(len(values) - 1, 1)
    ys = top + height * (1 - np.clip(values, 0.0, 1.0))
    return list(zip(xs.tolist(), ys.tolist(), strict=True))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("var/quality"), help="folder for the contact sheet")
    parser.add_argument("--per-portrait", type=int, default=4, help="recordings per portrait")
    parser.add_argument("--only", default="", help="only these portraits (comma-separated)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not recorded_speech.SOUNDS.exists():
        print(f"no Asterisk prompts at {recorded_speech.SOUNDS}: apt-get install asterisk-core-sounds-en-wav (and es,")
        print("fr, it, ru; -wav and -g722)")
        return 1
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    return 0 if benchmark(args.out, args.per_portrait, args.seed, only) else 1


if __name__ == "__main__":
    sys.exit(main())
