"""The language check of uploaded recordings measured on real human speech: Asterisk's prompts (Debian packages
asterisk-core-sounds-{en,es,fr,it,ru} and their -wav packages: one speaker per language, with the transcript of every
prompt).

For each prompt of at least --min-chars characters: the language lingua detects in its transcript and its
confidence, and the recording's speech seconds over the synthesizer's for the transcript (the ratio the check
bounds), both for the prompt's own transcript and for another prompt's transcript of a different length class (what a
false transcript looks like). Also the detector's load time and the memory it takes.

    apt-get install asterisk-core-sounds-en asterisk-core-sounds-en-wav ...   # any of en, es, fr, it, ru
    .venv/bin/python -m benchmarks.transcripts [--per-language 40] [--full]
"""

from __future__ import annotations

import argparse
import gzip
import random
import resource
import time
from pathlib import Path

import numpy as np

from inference import media, transcripts
from inference.errors import InferenceError

SOUNDS = Path("/usr/share/asterisk/sounds")
DOCS = Path("/usr/share/doc")


def _prompts(language: str) -> list[tuple[Path, str]]:
    listing = DOCS / f"asterisk-core-sounds-{language}" / f"core-sounds-{language}.txt.gz"
    if not listing.is_file():
        return []
    prompts = []
    for line in gzip.open(listing, "rt", encoding="utf-8", errors="replace"):
        name, _, text = line.partition(":")
        text = text.strip()
        path = SOUNDS / language / f"{name.strip()}.wav"
        if text and not text.startswith(("[", ";")) and path.is_file():
            prompts.append((path, text))
    return prompts


def _resident_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def _percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    low, p5, median, p95, high = np.percentile(values, [0, 5, 50, 95, 100])
    return f"min {low:.2f}  p5 {p5:.2f}  median {median:.2f}  p95 {p95:.2f}  max {high:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-language", type=int, default=40, help="prompts per language (default 40)")
    parser.add_argument("--full", action="store_true", help="every prompt")
    parser.add_argument("--min-chars", type=int, default=20, help="shortest transcript measured (default 20)")
    parser.add_argument(
        "--all-high-accuracy",
        action="store_true",
        help="only measure what high accuracy over every detectable language would cost (the design not taken)",
    )
    args = parser.parse_args()
    if args.all_high_accuracy:
        from lingua import LanguageDetectorBuilder

        before, started = _resident_mb(), time.monotonic()
        detector = LanguageDetectorBuilder.from_languages(*transcripts._lingua_languages().values()).build()
        detector.compute_language_confidence_values("Loading every model once.")
        print(f"all-language high accuracy: {time.monotonic() - started:.1f} s, +{_resident_mb() - before:.0f} MB")
        return

    before = _resident_mb()
    started = time.monotonic()
    transcripts.text_language("Loading the models once.", expected="en")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    print(
        f"detector: first check {time.monotonic() - started:.2f} s, resident memory after it "
        f"+{_resident_mb() - before:.0f} MB (peak +{peak:.0f} MB)"
    )
    started = time.monotonic()
    for _ in range(3):
        transcripts.text_language("Vielleicht kommt der große braune Bär morgen zurück.", expected="de")
    print(
        f"detector: a later check {(time.monotonic() - started) / 3:.2f} s, resident +{_resident_mb() - before:.0f} MB"
    )

    rng = random.Random(7)
    for language in ("en", "es", "fr", "it", "ru"):
        prompts = [(path, text) for path, text in _prompts(language) if len(text) >= args.min_chars]
        if not prompts:
            print(f"{language}: no prompts installed")
            continue
        if not args.full:
            prompts = rng.sample(prompts, min(args.per_language, len(prompts)))
        confidences, wrong, unsure, ratios, false_ratios = [], [], [], [], []
        measured = []
        for path, text in prompts:
            try:
                audio = media.audio_decode(path.read_bytes())
            except InferenceError:  # a few prompts are near-silent
                continue
            guess = transcripts.text_language(text, expected=language)
            if guess.language != language:
                wrong.append(f"{text[:50]!r} -> {guess.language} {guess.confidence:.2f}")
            else:
                confidences.append(guess.confidence)
                if guess.confidence < transcripts.MIN_CONFIDENCE:
                    unsure.append(f"{text[:50]!r} -> {guess.confidence:.2f}")
            heard = transcripts.speech_seconds(audio, media.AUDIO_SAMPLE_RATE)
            said = transcripts.spoken_seconds(text, language)
            ratios.append(heard / said)
            measured.append((heard, said))
        for index, (heard, _) in enumerate(measured):
            # Another prompt's transcript: a false transcript of whatever length it happens to have.
            other = measured[(index + 1 + rng.randrange(len(measured) - 1)) % len(measured)][1]
            false_ratios.append(heard / other)
        print(f"{language}: {len(measured)} prompts of {args.min_chars}+ characters")
        print(f"  detected right: {len(confidences)}, confidence {_percentiles(confidences)}")
        print(f"  refused: {len(wrong)} read as another language, {len(unsure)} right but unsure")
        for line in wrong + unsure:
            print(f"    {line}")
        low, high = transcripts.SPEECH_RATIO_BOUNDS
        own_out = sum(not low <= ratio <= high for ratio in ratios)
        false_out = sum(not low <= ratio <= high for ratio in false_ratios)
        print(f"  speech ratio, own transcript:     {_percentiles(ratios)}; outside the bounds: {own_out}")
        print(
            f"  speech ratio, another transcript: {_percentiles(false_ratios)}; outside the bounds: {false_out} "
            f"of {len(false_ratios)}"
        )


if __name__ == "__main__":
    main()
