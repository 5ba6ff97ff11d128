"""Per-frame animation parameters from speech: mouth opening from loudness or phonemes, and blinks."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np

# Frames quieter than this are silence whatever the recording's level (-50 dBFS).
_SILENCE_DB = -50.0
# Loudness range (dB below the peak) mapped onto closed..open: speech spans
# about 25 dB; syllables stand at least 10 dB above the consonants between them.
_DYNAMIC_RANGE_DB = 25.0
_MIN_RANGE_DB = 10.0
# The loudness window spans two frames, centred half a frame ahead: lips move
# slightly before the sound they make.
_WINDOW_FRAMES = 2.0
# One-pole smoothing time constants: lips open fast and close more slowly.
_ATTACK_S = 0.02
_RELEASE_S = 0.06
# Residual opening below this is drawn as closed lips.
_CLOSED_BELOW = 0.03

# Openness by the first letter of a phoneme (IPA); anything else is a consonant.
_OPENNESS = {
    **dict.fromkeys("aɑæɐɒɶ", 1.0),  # open vowels
    **dict.fromkeys("ɔʌɛœɜɞ", 0.8),  # open-mid
    **dict.fromkeys("eoəøɘɵɤɚɝ", 0.6),  # close-mid and central
    **dict.fromkeys("iyɨʉɯuɪʏʊ", 0.4),  # close
    **dict.fromkeys("fvɱɸβw", 0.15),  # lips nearly touch
}
_BILABIAL = frozenset("pbm")
_CONSONANT_OPENNESS = 0.3
# Stress and length marks carry no articulation; aligners label pauses variously.
_MARKS = frozenset("ˈˌːˑ'")
_PAUSES = frozenset({"", "_", "sil", "sp", "spn", "pau"})
# How much loudness shades phoneme openness (a shouted "a" opens wider than a whispered one).
_LOUDNESS_SHARE = 0.4

# Blinks: 2-6 s apart, first one within the first 3 s; eyelids close in 80 ms
# and reopen in 120 ms (about 3 frames each side at 25 fps).
_BLINK_INTERVAL_S = (2.0, 6.0)
_FIRST_BLINK_S = (0.5, 3.0)
_BLINK_CLOSE_S = 0.08
_BLINK_OPEN_S = 0.12

Phoneme = tuple[float, float, str]  # start s, end s, IPA symbol(s)


def mouth_open_track(
    audio: np.ndarray,
    sample_rate: int,
    n_frames: int,
    fps: int,
    phonemes: Sequence[Phoneme] | None = None,
) -> np.ndarray:
    """Mouth opening 0..1 per frame, (n_frames,) float32, from mono float audio (N,).

    Without phonemes the opening follows the short-time loudness; with them it
    follows each phoneme's articulation and bilabials (/p b m/) close the lips.
    """
    level = _loudness(np.asarray(audio, np.float64), sample_rate, n_frames, fps)
    if phonemes is None:
        track = _attack_release(level, fps)
    else:
        track = _phoneme_track(phonemes, n_frames, fps, level)
    track[track < _CLOSED_BELOW] = 0.0
    return track.astype(np.float32)


def blink_track(n_frames: int, fps: int, seed: int) -> np.ndarray:
    """Eyelid closure 0..1 per frame, (n_frames,) float32; the same seed gives the same blinks."""
    rng = np.random.default_rng(seed)
    times = np.arange(n_frames) / fps
    track = np.zeros(n_frames, np.float64)
    # Peaks on whole frames so every blink reaches a fully closed frame.
    peak = round(rng.uniform(*_FIRST_BLINK_S) * fps)
    low, high = (round(s * fps) for s in _BLINK_INTERVAL_S)
    while peak < n_frames + _BLINK_CLOSE_S * fps:
        offset = times - peak / fps
        closing = (offset <= 0) & (offset > -_BLINK_CLOSE_S)
        opening = (offset > 0) & (offset < _BLINK_OPEN_S)
        track[closing] = np.maximum(track[closing], _raised_cosine(offset[closing] / _BLINK_CLOSE_S))
        track[opening] = np.maximum(track[opening], _raised_cosine(offset[opening] / _BLINK_OPEN_S))
        peak += int(rng.integers(low, high + 1))
    return track.astype(np.float32)


def _raised_cosine(x: np.ndarray) -> np.ndarray:
    """1 at x = 0 falling smoothly to 0 at |x| = 1."""
    return 0.5 * (1 + np.cos(np.pi * x))


def _loudness(audio: np.ndarray, sample_rate: int, n_frames: int, fps: int) -> np.ndarray:
    """Loudness 0..1 per frame, (n_frames,): RMS in dB between the noise floor and the speech peak."""
    hop = sample_rate / fps
    centres = (np.arange(n_frames) + 1.0) * hop
    half = _WINDOW_FRAMES * hop / 2
    starts = np.clip(np.round(centres - half), 0, len(audio)).astype(int)
    ends = np.clip(np.round(centres + half), 0, len(audio)).astype(int)
    energy = np.concatenate([[0.0], np.cumsum(audio * audio)])
    mean_square = (energy[ends] - energy[starts]) / np.maximum(ends - starts, 1)
    db = 10 * np.log10(np.maximum(mean_square, 1e-12))
    peak = np.percentile(db, 95)
    if peak <= _SILENCE_DB:
        return np.zeros(n_frames)
    # The quietest frames (pauses, background noise) set the floor; the range
    # above it is kept between what separates syllables and what speech spans.
    floor = max(np.percentile(db, 10) + 6.0, peak - _DYNAMIC_RANGE_DB, _SILENCE_DB)
    floor = min(floor, peak - _MIN_RANGE_DB)
    return np.clip((db - floor) / (peak - floor), 0.0, 1.0)


def _attack_release(target: np.ndarray, fps: int) -> np.ndarray:
    attack = 1 - np.exp(-1.0 / (fps * _ATTACK_S))
    release = 1 - np.exp(-1.0 / (fps * _RELEASE_S))
    track = np.zeros_like(target)
    value = 0.0
    for index, goal in enumerate(target):
        value += (attack if goal > value else release) * (goal - value)
        track[index] = value
    return track


def _phoneme_track(phonemes: Sequence[Phoneme], n_frames: int, fps: int, level: np.ndarray) -> np.ndarray:
    times = (np.arange(n_frames) + 0.5) / fps
    target = np.zeros(n_frames)
    closures = []
    for start, end, symbol in phonemes:
        base = _base_letter(symbol)
        covered = (times >= start) & (times < end)
        centre = int((start + end) / 2 * fps)
        if base in _BILABIAL and 0 <= centre < n_frames:
            closures.append(centre)
        elif base:
            target[covered] = _OPENNESS.get(base, _CONSONANT_OPENNESS)
    # Coarticulation: each frame leans towards its neighbours.
    track = np.convolve(np.pad(target, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")
    track *= 1 - _LOUDNESS_SHARE + _LOUDNESS_SHARE * level
    for frame in closures:
        # Lips meet at the consonant's centre and ease in and out of it.
        track[max(frame - 1, 0) : frame + 2] *= 0.5
        track[frame] = 0.0
    return track


def _base_letter(symbol: str) -> str:
    """First articulated letter of an IPA phoneme ('' for pauses): 'ˈaɪ' -> 'a'."""
    if symbol.strip().lower() in _PAUSES:
        return ""
    for char in unicodedata.normalize("NFD", symbol):
        if char not in _MARKS and not unicodedata.combining(char) and not char.isspace() and char != "_":
            return char
    return ""
