"""Recorded human speech through the audio-only path, judged with the quality judge's face mesh.

The prompts are Asterisk's (Debian's asterisk-core-sounds-{en,es,fr,it,ru}-wav: 8 kHz telephone band, one
professional speaker per language; -g722: the same takes at 16 kHz), read as uploads are (decoded to 16 kHz). Each
prompt is rendered as recorded ("quiet") and under seeded pink room noise at a fixed signal-to-noise ratio
("noisy"), with a 0.3 s lead-in and tail. English prompts are also rendered with the recording aligned to its
transcript (the aligner an uploaded English recording with a transcript gets), and both renders are correlated with
the judge's expected openness of those aligned phones.

    python -m benchmarks.recorded_speech [--languages en,es,fr,it,ru] [--full]

The default run takes 2 prompts per language from the 8 kHz packages; --full takes 4 per language from every
package installed (8 kHz and 16 kHz).
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from benchmarks import quality
from benchmarks.reference_faces import portraits, reference
from inference import media, recognition
from inference.animation import animate, frame_count

SOUNDS = Path("/usr/share/asterisk/sounds")
DOCS = Path("/usr/share/doc")
# Each language's speaker (the packages' folder) and a fixed, varied choice of its 2-6 s prompts: several sentences
# or clauses (pauses), bilabials; the first two are the default run's.
SPEAKERS = {
    "en": "en_US_f_Allison",
    "es": "es_MX_f_Allison",
    "fr": "fr_CA_f_June",
    "it": "it_IT_m_Carlo",
    "ru": "ru_RU_f_IvrvoiceRU",
}
PROMPTS = {
    "en": ("agent-alreadyon", "demo-thanks", "pm-invalid-option", "conf-roll-callcomplete"),
    "es": ("pbx-invalidpark", "conf-now-unmuted", "agent-incorrect", "vm-calldiffnum"),
    "fr": ("demo-thanks", "vm-helpexit", "agent-alreadyon", "check-number-dial-again"),
    "it": ("auth-incorrect", "ss-noservice", "followme/options", "vm-newpassword"),
    "ru": ("vm-saveoper", "check-number-dial-again", "dir-instr", "vm-invalidpassword"),
}
BANDS = {"wav": "8 kHz", "g722": "16 kHz"}
LEAD_S = 0.3
NOISE_SNR_DB = 15.0  # speech over room noise, both measured as RMS over the speech
FPS = quality.FPS
# The judge's speech and pauses, from the clean recording's RMS per frame: speech within SPEECH_RANGE_DB of its
# loud end (95th percentile), loud frames within LOUD_RANGE_DB; a pause is a run of at least PAUSE_S without speech.
SPEECH_RANGE_DB, LOUD_RANGE_DB, PAUSE_S = 30.0, 15.0, 0.2
OPENED = 0.1  # eye distances: lips this far apart have opened (jaw_open 0.1 reads 0.10, see quality.CLOSED_APERTURE)
# Targets (issue #17, from real talking-head videos).
TARGET_CLOSURES_PER_S = (1.4, 3.0)
TARGET_SHUT_WHEN_LOUD = 0.45
TARGET_PAUSES_CLOSED = 0.8


@dataclass(frozen=True)
class Prompt:
    language: str
    name: str
    package: str  # wav or g722
    transcript: str


@dataclass(frozen=True)
class SpeechScore:
    """One render of a recording, measured by the face mesh's inner-lip gap (eye distances)."""

    name: str
    seconds_of_speech: float
    lag: int  # frames the mouth lags the sound at best correlation with its envelope
    closures_per_s: float  # lips shut (gap <= quality.CLOSED_APERTURE) after opening (OPENED), per s of speech
    shut_when_loud: float  # share of loud frames with the lips shut
    pauses: int  # pauses of at least PAUSE_S
    pauses_closed: float  # share of them with the lips shut over most (the median) of their frames
    correlation: float | None  # against the expected openness of the aligned transcript (English only)


def transcripts(language: str) -> dict[str, str]:
    """Prompt name -> transcript, from the package's documentation."""
    path = DOCS / f"asterisk-core-sounds-{language}" / f"core-sounds-{language}.txt.gz"
    text = gzip.open(path, "rt", encoding="utf-8", errors="replace").read()
    return {m[1]: m[2].strip() for m in re.finditer(r"^([\w/-]+):\s*(.+)$", text, re.MULTILINE)}


def prompt_path(prompt: Prompt) -> Path:
    return SOUNDS / SPEAKERS[prompt.language] / f"{prompt.name}.{prompt.package}"


def available_prompts(languages: Sequence[str], per_language: int, packages: Sequence[str]) -> list[Prompt]:
    chosen = []
    for language in languages:
        said = transcripts(language)
        for package in packages:
            for name in PROMPTS[language][:per_language]:
                prompt = Prompt(language, name, package, said[name])
                if prompt_path(prompt).exists():
                    chosen.append(prompt)
    return chosen


def load(prompt: Prompt) -> np.ndarray:
    """The prompt as an upload is read: mono float32 at media.AUDIO_SAMPLE_RATE (16 kHz)."""
    path = prompt_path(prompt)
    if prompt.package == "wav":
        return media.audio_decode(path)
    # Raw G.722 has no header; FFmpeg is told the format.
    with av.open(str(path), format="g722") as container:
        audio = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]) / 32768.0
        rate = container.streams.audio[0].sample_rate
    return media.audio_resample(audio.astype(np.float32), rate, media.AUDIO_SAMPLE_RATE)


def in_room(audio: np.ndarray, rate: int, snr_db: float | None, seed: int) -> np.ndarray:
    """The recording with a LEAD_S lead-in and tail, under seeded pink noise snr_db below its speech (None: none)."""
    padding = np.zeros(round(LEAD_S * rate), np.float32)
    padded = np.concatenate([padding, audio, padding])
    if snr_db is None:
        return padded
    white = np.fft.rfft(np.random.default_rng(seed).normal(0, 1, len(padded)))
    freqs = np.fft.rfftfreq(len(padded), 1 / rate)
    pink = np.fft.irfft(white / np.sqrt(np.maximum(freqs, 20.0)), len(padded))
    n_frames = frame_count(len(audio), rate, FPS)
    speech_rms = np.sqrt(
        np.mean(quality.speech_envelope(audio, rate, n_frames, FPS)[speech_frames_mask(audio, rate, n_frames)] ** 2)
    )
    pink *= speech_rms * 10 ** (-snr_db / 20) / np.sqrt(np.mean(pink**2))
    return (padded + pink).astype(np.float32)


def speech_frames_mask(audio: np.ndarray, rate: int, n_frames: int, range_db: float = SPEECH_RANGE_DB) -> np.ndarray:
    """(n_frames,) bool: frames whose RMS is within range_db of the loud end (95th percentile) of the clip's."""
    envelope = quality.speech_envelope(audio, rate, n_frames, FPS)
    db = 20 * np.log10(np.maximum(envelope, 1e-9))
    return db >= np.percentile(db, 95) - range_db


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of every run of True in a bool array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    return list(zip(edges[::2], edges[1::2], strict=True))


def score(
    name: str, aperture: np.ndarray, clean: np.ndarray, rate: int, expected: np.ndarray | None = None
) -> SpeechScore:
    """Measure a render's inner-lip gap (n_frames,) against the clean recording (same length as the render's)."""
    n_frames = len(aperture)
    envelope = quality.speech_envelope(clean, rate, n_frames, FPS)
    speaking = speech_frames_mask(clean, rate, n_frames)
    loud = speech_frames_mask(clean, rate, n_frames, LOUD_RANGE_DB)
    shut = aperture <= quality.CLOSED_APERTURE
    spoken = np.flatnonzero(speaking)
    # A closure is the lips shutting after they have opened at least OPENED since the last one: the mesh's
    # reading of shut lips wavers around the threshold.
    closures, opened = 0, False
    for frame in range(spoken[0], spoken[-1] + 1):
        opened |= aperture[frame] >= OPENED
        if opened and shut[frame]:
            closures, opened = closures + 1, False
    pauses = [(a, b) for a, b in runs(~speaking) if b - a >= round(PAUSE_S * FPS)]
    closed = [float(np.median(aperture[a:b])) <= quality.CLOSED_APERTURE for a, b in pauses]
    seconds = float(speaking.sum()) / FPS
    return SpeechScore(
        name=name,
        seconds_of_speech=seconds,
        lag=quality.best_lag(aperture, envelope),
        closures_per_s=closures / seconds,
        shut_when_loud=float(shut[loud].mean()),
        pauses=len(pauses),
        pauses_closed=float(np.mean(closed)) if closed else float("nan"),
        correlation=float(np.corrcoef(aperture, expected)[0, 1])
        if expected is not None and aperture.std() > 0
        else None,
    )


def apertures(frames, ref) -> np.ndarray:
    return np.array([quality.frame_aperture(frame, ref) for frame in frames])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", default=",".join(PROMPTS), help="comma-separated, of " + ",".join(PROMPTS))
    parser.add_argument("--full", action="store_true", help="4 prompts per language, 8 kHz and 16 kHz packages")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    languages = [code.strip() for code in args.languages.split(",") if code.strip()]
    if unknown := [code for code in languages if code not in PROMPTS]:
        parser.error(f"no prompts for {unknown}; choose from {sorted(PROMPTS)}")
    if not SOUNDS.exists():
        print(f"no Asterisk prompts at {SOUNDS}: apt-get install asterisk-core-sounds-en-wav (and es, fr, it, ru)")
        return 1
    prompts = available_prompts(languages, 4 if args.full else 2, ("wav", "g722") if args.full else ("wav",))
    photos = portraits()
    names = sorted(photos)
    refs = {}
    for name, photo in photos.items():
        first = next(animate(photo, np.zeros(1600, np.float32), 16000, fps=FPS))
        refs[name] = reference(cv2.resize(photo, (first.shape[1], first.shape[0]), interpolation=cv2.INTER_AREA))
    rate = media.AUDIO_SAMPLE_RATE
    scores: list[tuple[str, SpeechScore]] = []
    started = time.perf_counter()
    for number, prompt in enumerate(prompts):
        portrait = names[number % len(names)]
        recorded = load(prompt)
        clean = in_room(recorded, rate, None, args.seed)
        expected = None
        aligned = None
        if prompt.language == "en":
            aligned = recognition.aligned_phonemes(recorded, rate, prompt.transcript)
            if aligned is not None:
                shifted = [(a + LEAD_S, b + LEAD_S, ipa) for a, b, ipa in aligned]
                expected = quality.expected_openness(shifted, frame_count(len(clean), rate, FPS), FPS)
        renders = [("quiet", clean, None), ("noisy", in_room(recorded, rate, NOISE_SNR_DB, args.seed + number), None)]
        if aligned is not None:
            renders.append(("aligned", clean, [(a + LEAD_S, b + LEAD_S, ipa) for a, b, ipa in aligned]))
        for mode, heard, phonemes in renders:
            frames = animate(photos[portrait], heard, rate, fps=FPS, phonemes=phonemes, seed=args.seed + number)
            gap = apertures(frames, refs[portrait])
            name = f"{prompt.language}/{prompt.name}/{BANDS[prompt.package]}/{mode}/{portrait}"
            measured = score(name, gap, clean, rate, expected)
            scores.append((prompt.language, measured))
            _print_score(measured)
    print(f"\n{len(scores)} renders, {time.perf_counter() - started:.0f} s")
    return 0 if _print_summary(scores) else 1


def _print_score(s: SpeechScore) -> None:
    correlation = "" if s.correlation is None else f"  corr {s.correlation:.2f}"
    print(
        f"{s.name:58s} speech {s.seconds_of_speech:4.1f} s  lag {s.lag:+d}  closures/s {s.closures_per_s:4.2f}"
        f"  shut when loud {s.shut_when_loud:4.0%}  pauses closed {s.pauses_closed:4.0%} of {s.pauses}{correlation}",
        flush=True,
    )


def _print_summary(scores: list[tuple[str, SpeechScore]]) -> bool:
    """Per language and mode: worst lag, closures per second and shut share over all its speech, pauses closed."""
    passed = True
    print(
        f"{'language/mode':20s} {'lag (worst)':>11s} {'closures/s':>10s} {'shut loud':>9s} {'pauses':>8s} {'corr':>6s}"
    )
    groups: dict[str, list[SpeechScore]] = {}
    for language, s in scores:
        mode = s.name.split("/")[-2]
        groups.setdefault(f"{language}/{mode}", []).append(s)
        groups.setdefault(f"all/{mode}", []).append(s)
    for group, clips in groups.items():
        seconds = sum(c.seconds_of_speech for c in clips)
        rate = sum(c.closures_per_s * c.seconds_of_speech for c in clips) / seconds
        shut = float(np.mean([c.shut_when_loud for c in clips]))
        pauses = sum(c.pauses for c in clips)
        closed = sum(c.pauses_closed * c.pauses for c in clips if c.pauses) / max(pauses, 1)
        lag = max((c.lag for c in clips), key=abs)
        correlations = [c.correlation for c in clips if c.correlation is not None]
        correlation = f"{np.mean(correlations):6.2f}" if correlations else f"{'':6s}"
        ok = (
            abs(lag) <= quality.TARGET_OFFSET_FRAMES
            and TARGET_CLOSURES_PER_S[0] <= rate <= TARGET_CLOSURES_PER_S[1]
            and shut <= TARGET_SHUT_WHEN_LOUD
            and closed >= TARGET_PAUSES_CLOSED
        )
        passed &= ok or group.endswith("/aligned")
        print(
            f"{group:20s} {lag:+11d} {rate:10.2f} {shut:9.0%} {closed:5.0%}/{pauses:<2d} {correlation}"
            f"  {'PASS' if ok else 'FAIL'}"
        )
    return passed


if __name__ == "__main__":
    sys.exit(main())
