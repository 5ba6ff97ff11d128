"""Mouth articulation per frame: coarticulated visemes from phoneme timings, or acoustic estimates from audio alone."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import numpy as np
from scipy.ndimage import binary_opening, gaussian_filter1d, maximum_filter1d, median_filter

from .acoustics import F1, F2, F3, FLATNESS, HISS, LEVEL, NASAL, VOICING, acoustic_analysis
from .closures import CLOSURE_CONTEXT_S, oral_closures
from .motion import Phoneme
from .visemes import CHANNELS, Viseme, segments

JAW, SPREAD, ROUND, CLOSE, DENTAL = range(len(CHANNELS))

# Dominance reaches outside its segment, per channel: the articulators
# anticipate the next sound more than they carry the last one over, and the
# lips' shape (spread, rounding) further than the opening, which the jaw and
# lips move quickly between the segments' own targets.
_ANTICIPATION_S = np.array([0.015, 0.025, 0.025, 0.015, 0.015])
_CARRYOVER_S = np.array([0.012, 0.018, 0.018, 0.012, 0.012])
_REACH_S = 0.2  # beyond this a segment's dominance is negligible (below e^-8)
_SUBSTEPS = 8  # samples per frame: each frame shows the mean shape over its exposure
# Between phonemes (pauses) the mouth relaxes shut (lips parted in the photo close too).
_REST = Viseme((0.0, 0.0, 0.0, 1.0, 0.0), (1.5, 1.5, 1.5, 0.5, 1.0))
# A vowel takes more of a multi-letter phoneme's time than a glide or stop in it.
_VOWEL_WEIGHT, _CONSONANT_WEIGHT = 2.0, 1.0
# Louder syllables open a little wider; the phoneme sets the shape.
_LOUDNESS_SHARE = 0.15

# The acoustic track analyses the audio in hops of a quarter frame (see acoustics.acoustic_analysis).
_HOPS_PER_FRAME = 4
# Voice activity: a hop is speech from this level (0..1) on, when it is voiced
# (autocorrelation peak above _VOICED_ABOVE), hissing (hiss band share above
# _SPEECH_HISS) or loud (above _LOUD_LEVEL) for at least _SHORTEST_SOUND_S (room noise left after its
# subtraction rises that far on one or two hops); speech is held over gaps up to _HANGOVER_S.
_VOICED_ABOVE = 0.45
_SPEECH_LEVEL = 0.3
_SPEECH_HISS, _LOUD_LEVEL = 0.35, 0.5
_SHORTEST_SOUND_S = 0.03
_HANGOVER_S = 0.1
# A stretch this long without voice activity is a pause (see _pauses).
_PAUSE_S = 0.1
# A gap this long between the synthesizer's phonemes is a pause: as long as the audio's silence in one
# (_PAUSE_S without voice activity, which is held half of _HANGOVER_S either side of each sound).
_TEXT_PAUSE_S = _PAUSE_S + _HANGOVER_S
# Formants are read as if from one reference vocal tract: a voice is scaled so
# that its median F3 over vowels lands on _REFERENCE_F3 (Hz, an adult man's),
# which undoes the shorter tract of women and children.
_REFERENCE_F3, _TRACT_SCALES = 2500.0, (0.8, 1.4)
# Reference-tract formants (Hz) mapped onto jaw opening and spread/rounding.
_F1_RANGE, _SPREAD_F2, _ROUND_F2 = (350, 800), (1500, 2200), (1300, 850)
_OPENNESS_MEDIAN_S = 0.09
# While there is sound the lips stay at least this far apart, except in a lip closure.
_SPEECH_JAW_LEAST = 0.15
_ACOUSTIC_SMOOTHING_S = 0.02
_ACOUSTIC_JAW_GAIN = 1.3
# The lips are sealed over a whole lip closure and shut outright on the frames
# of its last _SHUT_BEFORE_RELEASE_S: its release is sharp, while its onset may
# still be the vowel before it fading out.
_SHUT_BEFORE_RELEASE_S = 0.02
# A tongue closure leaves the lips apart: the jaw keeps this share of the opening around it.
_TONGUE_JAW_SHARE = 0.5


def viseme_track(phonemes: Sequence[Phoneme], n_frames: int, fps: int, level: np.ndarray | None = None) -> np.ndarray:
    """(n_frames, 5) float32 mouth channels (CHANNELS order) from phoneme timings (start s, end s, IPA).

    Each segment holds its shape over its own time and blends into its
    neighbours through dominance functions (Cohen and Massaro): a tongue
    consonant lets the jaw follow the vowels some way. A bilabial seals the
    lips over its whole duration, and every bilabial is shut on the frame
    nearest its middle, however short. level
    (n_frames,) 0..1, when given, opens louder syllables wider.
    """
    step = 1.0 / (fps * _SUBSTEPS)
    times = (np.arange(n_frames * _SUBSTEPS) + 0.5) * step
    weighted = np.zeros((len(times), len(CHANNELS)))
    total = np.zeros((len(times), len(CHANNELS)))
    lip_closures = []
    for start, end, viseme in _timed_segments(phonemes, n_frames / fps):
        low = max(int((start - _REACH_S) / step), 0)
        high = min(int((end + _REACH_S) / step) + 1, len(times))
        if low >= high:
            continue
        t = times[low:high]
        before = np.clip(start - t, 0.0, None)[:, None] / _ANTICIPATION_S
        after = np.clip(t - end, 0.0, None)[:, None] / _CARRYOVER_S
        dominance = np.exp(-(before + after)) * np.asarray(viseme.dominance)
        weighted[low:high] += dominance * np.asarray(viseme.target)
        total[low:high] += dominance
        if viseme.bilabial:
            lip_closures.append((start, end))
    shape = weighted / np.maximum(total, 1e-9)
    # The lips stay sealed for as long as a bilabial lasts, whatever its neighbours.
    for start, end in lip_closures:
        inside = (times >= start) & (times < end)
        shape[inside, JAW] = shape[inside, DENTAL] = 0.0
        shape[inside, CLOSE] = 1.0
    track = shape.reshape(n_frames, _SUBSTEPS, len(CHANNELS)).mean(axis=1)
    if level is not None:
        track[:, JAW] *= 1 - _LOUDNESS_SHARE + _LOUDNESS_SHARE * np.asarray(level)
    _shut(track, [int((start + end) / 2 * fps) for start, end in lip_closures])
    # A pause holds the seal to its edges: the next sound's anticipation would part the lips a frame early
    # (lip_close 0.93 on a frame wholly before it).
    _shut(track, _frames_in_pauses(phonemes, n_frames, fps))
    return cast(np.ndarray, track.astype(np.float32))


def _frames_in_pauses(phonemes: Sequence[Phoneme], n_frames: int, fps: int) -> list[int]:
    """The frames whose whole exposure lies in a gap of at least _TEXT_PAUSE_S that no phoneme covers."""
    frames: list[int] = []
    cursor = 0.0
    for start, end in [(p[0], p[1]) for p in sorted(phonemes)] + [(n_frames / fps, n_frames / fps)]:
        if start - cursor >= _TEXT_PAUSE_S:
            frames.extend(range(math.ceil(cursor * fps - 1e-9), math.floor(start * fps + 1e-9)))
        cursor = max(cursor, end)
    return frames


def _timed_segments(phonemes: Sequence[Phoneme], duration: float) -> list[tuple[float, float, Viseme]]:
    """(start, end, viseme) for every segment of every phoneme, with rest segments filling the pauses."""
    timed = []
    cursor = 0.0
    for start, end, ipa in sorted(phonemes):
        if start > cursor:
            timed.append((cursor, start, _REST))
        parts = segments(ipa)
        weights = np.array([_VOWEL_WEIGHT if v.dominance[JAW] >= 2.0 else _CONSONANT_WEIGHT for v in parts])
        edges = start + (end - start) * np.concatenate([[0.0], np.cumsum(weights)]) / max(weights.sum(), 1e-9)
        # A phoneme without a gesture of its own (a lone modifier) is left to its neighbours.
        timed.extend((float(a), float(b), v) for a, b, v in zip(edges[:-1], edges[1:], parts, strict=False))
        cursor = max(cursor, end)
    if cursor < duration:
        timed.append((cursor, duration, _REST))
    return timed


def _shut(track: np.ndarray, frames: Sequence[int]) -> None:
    """Close the lips fully on these frames of a (n, 5) track, in place; the blend already eases the frames beside
    them."""
    for frame in frames:
        if 0 <= frame < len(track):
            track[frame, CLOSE] = 1.0
            track[frame, JAW] = 0.0
            track[frame, DENTAL] = 0.0


def acoustic_track(audio: np.ndarray, sample_rate: int, n_frames: int, fps: int) -> np.ndarray:
    """(n_frames, 5) float32 mouth channels (CHANNELS order) estimated from mono float audio (N,) alone.

    Language-independent, from the physics of the vocal tract: loudness opens
    the jaw as far as the first formant says the vowel is open; the second
    formant spreads (high) or rounds (low) voiced sounds; hiss holds the jaw
    nearly shut and weak, flat hiss brings the lower lip to the teeth. Oral
    closures (gaps and murmur between syllables) are placed by their
    acoustics: the lips shut for a closure whose nasal murmur resonates low
    (near 1 kHz), whose release burst falls with frequency, or whose F2
    transitions bend toward the labial locus; a tongue closure leaves the
    lips apart and the jaw half open.
    Silence is a closed, relaxed mouth.
    """
    features, hop_s, speaking, formants, closures = _acoustic_reading(audio, sample_rate, n_frames, fps)
    level, voicing, nasal, hiss = (features[:, i] for i in (LEVEL, VOICING, NASAL, HISS))
    voiced = np.clip((voicing - 0.3) / (_VOICED_ABOVE + 0.15 - 0.3), 0.0, 1.0) * speaking
    f1, f2 = formants[:, 0], formants[:, 1]
    # LPC's F1 wavers from hop to hop; a vowel's openness is read over its nucleus.
    openness = median_filter(
        np.clip((f1 - _F1_RANGE[0]) / (_F1_RANGE[1] - _F1_RANGE[0]), 0.0, 1.0),
        size=2 * round(_OPENNESS_MEDIAN_S / hop_s / 2) + 1,
        mode="nearest",
    )
    murmur = voiced * np.clip((nasal - 0.6) / 0.3, 0.0, 1.0)
    hissing = np.clip((hiss - 0.2) / 0.4, 0.0, 1.0)
    target = np.zeros((len(level), len(CHANNELS)))
    # While speaking the lips stay apart except where a closure below shuts them.
    # Nasal murmur comes from a closed mouth, hiss from a nearly closed one.
    jaw = level * (0.2 + 0.8 * openness) * (1 - murmur) * (1 - 0.5 * hissing)
    target[:, JAW] = speaking * np.where(level > _SPEECH_LEVEL, np.maximum(jaw, _SPEECH_JAW_LEAST), jaw)
    target[:, SPREAD] = 0.9 * voiced * np.clip((f2 - _SPREAD_F2[0]) / (_SPREAD_F2[1] - _SPREAD_F2[0]), 0.0, 1.0)
    target[:, ROUND] = 0.9 * voiced * (f2 > 0) * np.clip((f2 - _ROUND_F2[0]) / (_ROUND_F2[1] - _ROUND_F2[0]), 0.0, 1.0)
    fricative = speaking * (1 - voiced) * np.clip((hiss - 0.35) / 0.3, 0.0, 1.0)
    # Labiodental hiss is weak and spectrally flat; a sibilant's is loud and peaked.
    target[:, DENTAL] = fricative * features[:, FLATNESS] * np.clip((0.45 - level) / 0.25, 0.0, 1.0)
    context = 2 * round(CLOSURE_CONTEXT_S / hop_s) + 1
    pauses = _pauses(speaking, hop_s)
    target[:, CLOSE] = np.maximum(1 - maximum_filter1d(speaking, size=context), pauses)
    shut = []
    for start, end, labial in closures:
        if labial:
            target[start:end, [JAW, DENTAL]] = 0.0
            target[start:end, CLOSE] = 1.0
            shut.append((max(end - round(_SHUT_BEFORE_RELEASE_S / hop_s), start), end - 1))
        elif start > 0:  # from the start of the audio the mouth rests until the first sound
            around = [hop for hop in (start - 1, end) if 0 <= hop < len(level)]
            jaw = _TONGUE_JAW_SHARE * max((target[hop, JAW] for hop in around), default=0.0)
            target[start:end, JAW] = max(jaw, _SPEECH_JAW_LEAST)
            target[start:end, CLOSE] = 0.0
    target = gaussian_filter1d(target, _ACOUSTIC_SMOOTHING_S / hop_s, axis=0, mode="nearest")
    track = target.reshape(n_frames, _HOPS_PER_FRAME, len(CHANNELS)).mean(axis=1)
    track[:, JAW] = np.minimum(_ACOUSTIC_JAW_GAIN * track[:, JAW], 1.0)
    # Sealed over the whole closure, the lips are pressed shut on its last moments before the release.
    _shut(
        track,
        [
            frame
            for first, last in shut
            for frame in range(int(first // _HOPS_PER_FRAME), int(last // _HOPS_PER_FRAME) + 1)
        ],
    )
    # A pause holds the seal to its edges: the smoothing above lets the next sound's opening seep into the frames
    # before it (lip_close 0.9 a frame before the first sound), while those frames are wholly silent.
    _shut(track, np.flatnonzero(pauses.reshape(n_frames, _HOPS_PER_FRAME).min(axis=1) == 1.0).tolist())
    return cast(np.ndarray, np.clip(track, 0.0, 1.0).astype(np.float32))


def placed_closures(audio: np.ndarray, sample_rate: int, n_frames: int, fps: int) -> list[tuple[float, float, bool]]:
    """(start s, end s, labial) of every oral closure acoustic_track places in mono float audio (N,) for n_frames
    at fps: the same analysis, without the mouth's shape (for measuring where the lips are placed shut)."""
    _features, hop_s, _speaking, _formants, closures = _acoustic_reading(audio, sample_rate, n_frames, fps)
    return [(start * hop_s, end * hop_s, labial) for start, end, labial in closures]


def _acoustic_reading(
    audio: np.ndarray, sample_rate: int, n_frames: int, fps: int
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, list[tuple[int, int, bool]]]:
    """What the audio-only path reads from mono float audio (N,) for n_frames at fps, on _HOPS_PER_FRAME hops a
    frame: the acoustic features (hops, ...), the hop (s), voice activity (hops,) 0/1, formants on the reference
    vocal tract (hops, 3) and the oral closures placed, as (start hop, end hop, labial)."""
    features, noise = acoustic_analysis(audio, sample_rate, n_frames * _HOPS_PER_FRAME, fps * _HOPS_PER_FRAME)
    hop_s = 1.0 / (fps * _HOPS_PER_FRAME)
    speaking = _voice_activity(features[:, LEVEL], features[:, VOICING], features[:, HISS], hop_s)
    formants, scale = _reference_formants(features)
    closures = oral_closures(audio, sample_rate, features, formants, scale, speaking, hop_s, noise)
    return features, hop_s, speaking, formants, closures


def _pauses(speaking: np.ndarray, hop_s: float) -> np.ndarray:
    """(n,) float 0/1: the pauses in voice activity (n,) 0/1, stretches without speech of at least _PAUSE_S.

    Voice activity is held _HANGOVER_S past each sound, so such a stretch is a silence of about 0.2 s or more:
    longer than any stop's closure, and the lips close there as a speaker's do between phrases.
    """
    quiet = np.concatenate([[0], (speaking < 0.5).astype(int), [0]])
    edges = np.flatnonzero(np.diff(quiet))
    pauses = np.zeros(len(speaking))
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        if (end - start) * hop_s >= _PAUSE_S:
            pauses[start:end] = 1.0
    return pauses


def _reference_formants(features: np.ndarray) -> tuple[np.ndarray, float]:
    """(n, 3) F1-F3 (Hz, 0 where LPC found none) of per-hop features, median-smoothed over three hops and
    scaled onto the reference vocal tract, and that scale (see _REFERENCE_F3)."""
    formants = median_filter(features[:, [F1, F2, F3]], size=(3, 1), mode="nearest")
    vowel = (
        (features[:, VOICING] > 0.5) & (features[:, LEVEL] > 0.45) & (features[:, NASAL] < 0.6) & (formants[:, 2] > 0)
    )
    scale = 1.0
    if vowel.sum() >= 10:
        scale = float(np.clip(np.median(formants[vowel, 2]) / _REFERENCE_F3, *_TRACT_SCALES))
    return formants / scale, scale


def _voice_activity(level: np.ndarray, voicing: np.ndarray, hiss: np.ndarray, hop_s: float) -> np.ndarray:
    """(n,) float 0/1: speech where loud enough and voiced or hissing for a sound's length, held briefly over short
    gaps."""
    active = (level > _SPEECH_LEVEL) & ((voicing > _VOICED_ABOVE) | (hiss > _SPEECH_HISS) | (level > _LOUD_LEVEL))
    active = binary_opening(active, structure=np.ones(max(round(_SHORTEST_SOUND_S / hop_s), 1), bool))
    return cast(np.ndarray, maximum_filter1d(active.astype(float), size=2 * round(_HANGOVER_S / hop_s / 2) + 1))
