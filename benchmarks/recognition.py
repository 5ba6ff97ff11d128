"""Offline English speech recognition measured: phone alignment, lip closure with and without it, and the liveness
digits check.

- alignment: phones of synthesized English aligned to its text, against the
  synthesizer's own timings of every /p b m/ (start, end, centre);
- closure: the quality judge's closure rate and aperture correlation on
  renders of the same recordings from the audio alone, from the audio with
  its transcript aligned, and from the synthesizer's phonemes (text path);
- digits: the liveness digits check on real test clips (MP4, some re-encoded
  as a browser's WebM) read in all English voices: how often the right digits
  are refused and other digits, one changed digit, other speech or noise pass.

    .venv/bin/python -m benchmarks.recognition [--clips 60] [--skip-closure]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import cv2
import numpy as np

from benchmarks import quality
from inference import media, recognition, speech
from inference.animation import animate

SENTENCES = (
    "Maybe the big brown bear will come back by the time we open the map.",
    "Please bring my mother a bowl of warm soup before the movie begins.",
    "The baby put the purple ball in the box by the lamp.",
    "My brother made a map of the empty bay behind the big pump.",
    "Bob must keep his promise to bring back the blue umbrella.",
    "Every morning Pam buys a maple muffin at the bakery.",
    "I think it is going to rain tomorrow, so take a coat.",
    "Mister Zhang paid 42 dollars for the xylophone in Bombay.",
)
VOICES = (None, "en-us+f2", "en-us+m3", "en-us+f4", "en-us+m7")
OTHER_SPEECH = (
    "Good morning, I am happy to help.",
    "Please do not use my face.",
    "Seven.",
    "Two and two make four.",
    "Hello, my name is Anna and I agree.",
    "One moment please.",
    "Eight, eight.",
    "Thank you very much.",
    "Let me think about it.",
    "I read the digits aloud.",
    "Zero zero zero zero zero.",
    "Six hundred and one.",
    "Okay, here we go.",
    "The quick brown fox jumps over the lazy dog.",
    "Five, four, three, two, one.",
    "Nice to meet you.",
    "Could you repeat that?",
    "Three nine.",
    "I approve this video.",
    "No.",
)
BILABIALS = frozenset("pbm")
TURNS = ["left", "up"]


def _uploaded(spoken: speech.Speech) -> np.ndarray:
    return media.audio_resample(spoken.audio, spoken.sample_rate, media.AUDIO_SAMPLE_RATE)


def _in_room_noise(audio: np.ndarray, rate: int, lead_s: float = 0.3, below_peak_db: float = 40.0) -> np.ndarray:
    """The recording with a lead-in and a tail, all of it under steady white noise this far below its peak."""
    padding = np.zeros(round(lead_s * rate), np.float32)
    padded = np.concatenate([padding, audio, padding])
    noise = np.random.default_rng(0).normal(0, 1, len(padded)) * np.abs(audio).max() * 10 ** (-below_peak_db / 20)
    return (padded + noise).astype(np.float32)


def alignment() -> None:
    errors, failed, seconds, started = [], 0, 0.0, time.perf_counter()
    for voice in VOICES:
        for sentence in SENTENCES:
            spoken = speech.synthesize(sentence, "en", voice=voice)
            seconds += len(spoken.audio) / spoken.sample_rate
            aligned = recognition.aligned_phonemes(_uploaded(spoken), media.AUDIO_SAMPLE_RATE, sentence)
            ours = [(a, b) for a, b, ipa in aligned or () if ipa in BILABIALS]
            truth = [(a, b) for a, b, ipa in spoken.phonemes if ipa in BILABIALS]
            if aligned is None or len(ours) != len(truth):
                failed += 1
                continue
            errors += [(a - c, b - d, (a + b - c - d) / 2) for (a, b), (c, d) in zip(ours, truth, strict=False)]
    error_ms = np.abs(np.array(errors)) * 1000
    print(
        f"alignment: {len(SENTENCES) * len(VOICES)} utterances ({seconds:.0f} s) in {len(VOICES)} voices, {failed} "
        "not aligned, "
        f"{time.perf_counter() - started:.1f} s"
    )
    for column, name in enumerate(("start", "end", "centre")):
        values = error_ms[:, column]
        print(
            f"  /p b m/ {name:6s} of {len(values)}: within 20 ms {np.mean(values <= 20):.1%}, within 40 ms "
            f"{np.mean(values <= 40):.1%}, "
            f"median {np.median(values):.0f} ms, 90th percentile {np.percentile(values, 90):.0f} ms"
        )


def closure() -> None:
    photos = quality.portraits()
    references = {}
    for name, photo in photos.items():
        first = next(animate(photo, np.zeros(1600, np.float32), 16000, fps=quality.FPS))
        references[name] = quality.reference(
            cv2.resize(photo, (first.shape[1], first.shape[0]), interpolation=cv2.INTER_AREA)
        )
    scores: dict[tuple[str, str], list[quality.ClipScore]] = {}
    for index, sentence in enumerate((quality.SENTENCES["en"], *SENTENCES[1:5])):
        spoken = speech.synthesize(sentence, "en", voice=VOICES[index % len(VOICES)])
        audio, rate = _uploaded(spoken), media.AUDIO_SAMPLE_RATE
        lead = 0.3
        noisy = _in_room_noise(audio, rate, lead)
        shifted = tuple((start + lead, end + lead, ipa) for start, end, ipa in spoken.phonemes)
        for portrait, photo in photos.items():
            for mode, heard, phonemes, truth in (
                ("audio", audio, None, spoken.phonemes),
                ("noisy", noisy, None, shifted),
                ("aligned", audio, recognition.aligned_phonemes(audio, rate, sentence), spoken.phonemes),
                ("text", audio, spoken.phonemes, spoken.phonemes),
            ):
                frames = animate(photo, heard, rate, fps=quality.FPS, phonemes=phonemes, seed=index)
                score = quality.judge_clip(f"en/{mode}/{portrait}", references[portrait], frames, heard, rate, truth)
                scores.setdefault((portrait, mode), []).append(score)
    print(
        "closure (the quality judge, 5 English recordings per portrait; noisy: audio alone with a 0.3 s lead-in and "
        "tail, under white noise 40 dB below its peak):"
    )
    for (portrait, mode), clips in scores.items():
        bilabials = sum(clip.n_bilabials for clip in clips)
        rate = sum(clip.closure * clip.n_bilabials for clip in clips) / bilabials
        print(
            f"  {portrait:10s} {mode:8s} closure {rate:.1%} of {bilabials} bilabials, "
            f"correlation mean {np.mean([clip.correlation for clip in clips]):.2f} (min "
            f"{min(clip.correlation for clip in clips):.2f})"
        )


def digits(count: int) -> None:
    from consent import liveness
    from tests.clips import as_browser_webm, liveness_clip

    photo = quality.portraits()["astronaut"]
    rng = np.random.default_rng(7)
    voices = speech.voices("en")

    def other(shown: str) -> str:
        while (picked := " ".join(str(d) for d in rng.integers(0, 10, 3))) == shown:
            pass
        return picked

    def one_changed(shown: str) -> str:
        parts = shown.split()
        at = int(rng.integers(0, len(parts)))
        parts[at] = str((int(parts[at]) + int(rng.integers(1, 10))) % 10)
        return " ".join(parts)

    outcomes: dict[str, list[bool]] = {
        "right digits": [],
        "other digits": [],
        "one digit changed": [],
        "other speech": [],
        "noise": [],
    }
    refused, mistakes = [], []
    started = time.perf_counter()
    for index in range(count):
        shown, voice = other(""), voices[index % len(voices)]
        clip = liveness_clip(photo, turns=TURNS, digits=shown, voice=voice)
        recordings = [clip, as_browser_webm(clip, seed=index)] if index % 3 == 0 else [clip]
        for recording in recordings:
            decoded = liveness.clip_decode(recording)
            right = recognition.digits_check(decoded.audio, decoded.sample_rate, shown)
            outcomes["right digits"].append(right.passed)
            if not right.passed:
                refused.append(f"{voice} read {shown}, heard {right.heard} (margin {right.margin:.1f})")
            for case, expected in (("other digits", other(shown)), ("one digit changed", one_changed(shown))):
                wrong = recognition.digits_check(decoded.audio, decoded.sample_rate, expected)
                outcomes[case].append(wrong.passed)
                if wrong.passed:
                    mistakes.append(
                        f"{voice} read {shown}, passed as {expected} (heard {wrong.heard}, margin {wrong.margin:.1f})"
                    )
    for index, sentence in enumerate(OTHER_SPEECH):
        decoded = liveness.clip_decode(
            liveness_clip(photo, turns=TURNS, digits=sentence, voice=voices[index % len(voices)])
        )
        wrong = recognition.digits_check(decoded.audio, decoded.sample_rate, other(""))
        outcomes["other speech"].append(wrong.passed)
        if wrong.passed:
            mistakes.append(f"{sentence!r} passed as {wrong.expected}")
    for index in range(20):
        noise = np.random.default_rng(index).normal(0.0, 0.02, 3 * media.AUDIO_SAMPLE_RATE).astype(np.float32)
        outcomes["noise"].append(recognition.digits_check(noise, media.AUDIO_SAMPLE_RATE, other("")).passed)
    print(
        f"digits check: {count} clips in {len(voices)} English voices, a third also as browser WebM "
        f"({time.perf_counter() - started:.0f} s)"
    )
    for case, passed in outcomes.items():
        label = "false reject" if case == "right digits" else "false accept"
        rate = 1 - np.mean(passed) if case == "right digits" else np.mean(passed)
        print(f"  {case:18s} passed {sum(passed):3d} of {len(passed):3d}   {label} {rate:.1%}")
    for line in refused:
        print(f"    refused: {line}")
    for line in mistakes:
        print(f"    passed: {line}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=60, help="liveness clips reading digits")
    parser.add_argument(
        "--skip-closure", action="store_true", help="leave out the rendered closure measure (the slowest part)"
    )
    args = parser.parse_args(argv)
    alignment()
    if not args.skip_closure:
        closure()
    digits(args.clips)
    return 0


if __name__ == "__main__":
    sys.exit(main())
