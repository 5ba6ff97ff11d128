"""Per-frame animation parameters besides the mouth: loudness, blinks, head motion and eyebrows."""

from __future__ import annotations

from typing import cast

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

# Frames quieter than this are silence whatever the recording's level (-50 dBFS).
_SILENCE_DB = -50.0
# Loudness range (dB below the peak) mapped onto closed..open: speech spans
# about 25 dB; syllables stand at least 10 dB above the consonants between them.
_DYNAMIC_RANGE_DB = 25.0
_MIN_RANGE_DB = 10.0
# The loudness window spans two frames, centred half a frame ahead: lips move
# slightly before the sound they make.
_WINDOW_FRAMES = 2.0

# Blinks: 2-6 s apart, first one within the first 3 s; eyelids close in 60 ms
# and reopen in 100 ms (a blink looks about 120 ms long). Now and then a
# second blink follows the first at once.
_BLINK_INTERVAL_S = (2.0, 6.0)
_FIRST_BLINK_S = (0.5, 3.0)
_BLINK_CLOSE_S = 0.06
_BLINK_OPEN_S = 0.1
_DOUBLE_BLINK_CHANCE = 0.2
_DOUBLE_BLINK_GAP_S = (0.24, 0.36)

# Head motion in degrees (roll, nod, yaw). Idle sway: a few slow sinusoids
# per axis; breathing nods the head at about 15 breaths a minute; speech
# energy enlarges the sway and each stressed syllable nods the head.
_SWAY_DEG = (2.4, 1.8, 2.6)
_SWAY_HZ = (0.06, 0.3)
_BREATH_DEG, _BREATH_HZ = 0.3, (0.2, 0.28)
_SPEECH_SWAY_GAIN = 0.5
_ENERGY_SMOOTHING_S = 0.4
_STRESS_NOD_DEG = 1.2
_STRESS_TURN_DEG = 0.5
_STRESS_WIDTH_S = 0.18
_STRESS_LAG_S = 0.05  # the nod peaks just after the syllable's loudest moment
_HEAD_SMOOTHING_S = 0.08
# Syllable peaks: loudness maxima at least this high and this far above the
# dips around them; stressed ones stand above most others.
_SYLLABLE_LEVEL, _SYLLABLE_PROMINENCE = 0.45, 0.2
_SYLLABLE_SMOOTHING_S = 0.03
_STRESS_PERCENTILE = 60
# Brows lift only on the most prominent syllables, briefly.
_BROW_RAISE, _BROW_WIDTH_S, _BROW_PERCENTILE = 0.8, 0.12, 75

Phoneme = tuple[float, float, str]  # start s, end s, IPA symbol(s)


def blink_track(n_frames: int, fps: int, seed: int) -> np.ndarray:
    """Eyelid closure 0..1 per frame, (n_frames,) float32; the same seed gives the same blinks."""
    rng = np.random.default_rng(seed)
    track = np.zeros(n_frames, np.float64)
    # Peaks on whole frames so every blink reaches a fully closed frame.
    peak = round(rng.uniform(*_FIRST_BLINK_S) * fps)
    low, high = (round(s * fps) for s in _BLINK_INTERVAL_S)
    while peak < n_frames + _BLINK_CLOSE_S * fps:
        _add_blink(track, peak, fps)
        if rng.random() < _DOUBLE_BLINK_CHANCE:
            _add_blink(track, peak + max(round(rng.uniform(*_DOUBLE_BLINK_GAP_S) * fps), 3), fps)
        peak += int(rng.integers(low, high + 1))
    return track.astype(np.float32)


def blink_peaks(track: np.ndarray) -> np.ndarray:
    """Frames where a blink track (n,) is fully closed, one per blink (a double blink counts twice)."""
    return np.flatnonzero(track == 1.0)


def _add_blink(track: np.ndarray, peak: int, fps: int) -> None:
    # Only the frames the blink reaches: the cost per blink stays fixed however long the track is.
    start = max(0, peak - int(np.ceil(_BLINK_CLOSE_S * fps)))
    stop = min(len(track), peak + int(np.ceil(_BLINK_OPEN_S * fps)) + 1)
    if start >= stop:
        return
    window = track[start:stop]
    offset = np.arange(start, stop) / fps - peak / fps
    closing = (offset <= 0) & (offset > -_BLINK_CLOSE_S)
    opening = (offset > 0) & (offset < _BLINK_OPEN_S)
    window[closing] = np.maximum(window[closing], _raised_cosine(offset[closing] / _BLINK_CLOSE_S))
    window[opening] = np.maximum(window[opening], _raised_cosine(offset[opening] / _BLINK_OPEN_S))


def stressed_syllables(level: np.ndarray, fps: int, percentile: float = 60) -> tuple[np.ndarray, np.ndarray]:
    """Frames of stressed syllables and their strength 0..1, from a loudness track (n,) 0..1.

    Syllable nuclei are the loudness peaks; the louder ones (above this
    percentile of the clip's peaks) carry the stress, whatever the language.
    """
    smooth = gaussian_filter1d(np.asarray(level, np.float64), _SYLLABLE_SMOOTHING_S * fps, mode="nearest")
    peaks, properties = find_peaks(smooth, height=_SYLLABLE_LEVEL, prominence=_SYLLABLE_PROMINENCE)
    if not len(peaks):
        return peaks, np.zeros(0)
    heights = properties["peak_heights"]
    stressed = heights >= np.percentile(heights, percentile)
    strength = np.clip(properties["prominences"][stressed] / 0.5, 0.3, 1.0)
    return peaks[stressed], strength


def head_track(level: np.ndarray, fps: int, seed: int) -> np.ndarray:
    """(n, 3) float32 head (roll, nod, yaw) in degrees per frame for a loudness track (n,) 0..1.

    Idle sway and breathing when silent; while speaking the sway grows with the
    speech energy and stressed syllables nod (and slightly turn) the head.
    Everything is smooth: the sum of slow sinusoids and broad bumps, low-passed.
    """
    rng = np.random.default_rng([seed, 1])
    n = len(level)
    times = np.arange(n) / fps
    energy = gaussian_filter1d(np.asarray(level, np.float64), _ENERGY_SMOOTHING_S * fps, mode="nearest")
    pose = np.zeros((n, 3))
    for axis, amplitude in enumerate(_SWAY_DEG):
        for weight in (0.6, 0.3, 0.1):
            frequency = rng.uniform(*_SWAY_HZ)
            pose[:, axis] += weight * amplitude * np.sin(2 * np.pi * frequency * times + rng.uniform(0, 2 * np.pi))
    pose *= (1 + _SPEECH_SWAY_GAIN * energy)[:, None]
    pose[:, 1] += _BREATH_DEG * np.sin(2 * np.pi * rng.uniform(*_BREATH_HZ) * times + rng.uniform(0, 2 * np.pi))
    peaks, strength = stressed_syllables(level, fps, _STRESS_PERCENTILE)
    for frame, weight in zip(peaks, strength, strict=False):
        bump = np.exp(-0.5 * ((times - frame / fps - _STRESS_LAG_S) / _STRESS_WIDTH_S) ** 2)
        pose[:, 1] += _STRESS_NOD_DEG * weight * bump
        pose[:, [0, 2]] += _STRESS_TURN_DEG * weight * rng.uniform(-1, 1, 2) * bump[:, None]
    return cast(np.ndarray, gaussian_filter1d(pose, _HEAD_SMOOTHING_S * fps, axis=0, mode="nearest").astype(np.float32))


def brow_track(level: np.ndarray, fps: int) -> np.ndarray:
    """(n,) float32 eyebrow raise 0..1 per frame: a brief lift on each stressed syllable of a loudness track (n,)."""
    times = np.arange(len(level)) / fps
    raise_ = np.zeros(len(level))
    peaks, strength = stressed_syllables(level, fps, _BROW_PERCENTILE)
    for frame, weight in zip(peaks, strength, strict=False):
        raise_ = np.maximum(raise_, _BROW_RAISE * weight * np.exp(-0.5 * ((times - frame / fps) / _BROW_WIDTH_S) ** 2))
    return raise_.astype(np.float32)


def _raised_cosine(x: np.ndarray) -> np.ndarray:
    """1 at x = 0 falling smoothly to 0 at |x| = 1."""
    return 0.5 * (1 + np.cos(np.pi * x))


def speech_level(audio: np.ndarray, sample_rate: int, n_frames: int, fps: float) -> np.ndarray:
    """Loudness 0..1 per frame, (n_frames,) float64, of mono float audio (N,): RMS in dB between the noise floor and
    the speech peak."""
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
    return cast(np.ndarray, np.clip((db - floor) / (peak - floor), 0.0, 1.0))
