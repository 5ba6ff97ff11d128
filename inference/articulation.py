"""Mouth articulation per frame: coarticulated visemes from phoneme timings, or acoustic estimates from audio alone."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d

from .motion import Phoneme
from .visemes import CHANNELS, Viseme, segments

JAW, SPREAD, ROUND, CLOSE, DENTAL = range(len(CHANNELS))

# Dominance reaches outside its segment: lips anticipate the next sound
# (longer) more than they carry the last one over.
_ANTICIPATION_S = 0.025
_CARRYOVER_S = 0.018
_REACH_S = 0.2  # beyond this a segment's dominance is negligible (below e^-8)
_SUBSTEPS = 8  # samples per frame: each frame shows the mean shape over its exposure
# Between phonemes (pauses) the mouth relaxes shut (lips parted in the photo close too).
_REST = Viseme((0.0, 0.0, 0.0, 1.0, 0.0), (1.5, 1.5, 1.5, 0.5, 1.0))
# A vowel takes more of a multi-letter phoneme's time than a glide or stop in it.
_VOWEL_WEIGHT, _CONSONANT_WEIGHT = 2.0, 1.0
# Louder syllables open a little wider; the phoneme sets the shape.
_LOUDNESS_SHARE = 0.3

# Acoustic analysis: 30 ms windows every quarter frame.
_WINDOW_S = 0.03
_HOPS_PER_FRAME = 4
# Spectra are taken this many hops at a time (about 10 s of audio at 25 fps).
_HOPS_PER_BLOCK = 1000
_VOICING_LAGS_S = (1 / 400, 1 / 70)  # pitch periods of speech
_VOICED_ABOVE = 0.45
_SPEECH_LEVEL = 0.3
_SILENCE_DB = -50.0  # dBFS: quieter is silence whatever the recording's level
_HANGOVER_S = 0.1
# Formant-band centroids (Hz) mapped onto jaw opening and spread/rounding.
_F1_BAND, _F2_BAND, _NASAL_BAND, _HISS_BAND = (250, 1000), (900, 2800), (60, 400), (3000, 8000)
_F1_RANGE, _SPREAD_F2, _ROUND_F2 = (300, 800), (1500, 2200), (1300, 850)
# A closure is a dip of this many level units below the surrounding syllables.
_DIP_DEPTH = 0.25
_DIP_CONTEXT_S = 0.12
_ACOUSTIC_SMOOTHING_S = 0.03
_ACOUSTIC_JAW_GAIN = 1.3
# Closures: peaks of the closure score above this are candidates; those whose
# neighbouring vowels bend the second formant below _LABIAL_F2 (Hz) are lip closures.
_CLOSURE_CANDIDATE = 0.35
_LABIAL_F2 = 1400.0
# Voiced sound this dominated by its lowest band is nasal murmur (lips or tongue closed).
_MURMUR_NASAL = 0.6
# Loudness 0..1 spans this many dB below the loud end of the speech.
_LEVEL_RANGE_DB = 35.0


def viseme_track(phonemes: Sequence[Phoneme], n_frames: int, fps: int, level: np.ndarray | None = None) -> np.ndarray:
    """(n_frames, 5) float32 mouth channels (CHANNELS order) from phoneme timings (start s, end s, IPA).

    Each segment holds its shape over its own time and blends into its
    neighbours through dominance functions (Cohen and Massaro): a bilabial's
    closure dominates the lips, a tongue consonant lets the jaw follow the
    vowels. Every bilabial is shut on the frame nearest its middle. level
    (n_frames,) 0..1, when given, opens louder syllables wider.
    """
    step = 1.0 / (fps * _SUBSTEPS)
    times = (np.arange(n_frames * _SUBSTEPS) + 0.5) * step
    weighted = np.zeros((len(times), len(CHANNELS)))
    total = np.zeros((len(times), len(CHANNELS)))
    bilabial_centres = []
    for start, end, viseme in _timed_segments(phonemes, n_frames / fps):
        low = max(int((start - _REACH_S) / step), 0)
        high = min(int((end + _REACH_S) / step) + 1, len(times))
        if low >= high:
            continue
        t = times[low:high]
        before = np.clip(start - t, 0.0, None) / _ANTICIPATION_S
        after = np.clip(t - end, 0.0, None) / _CARRYOVER_S
        dominance = np.exp(-(before + after))[:, None] * np.asarray(viseme.dominance)
        weighted[low:high] += dominance * np.asarray(viseme.target)
        total[low:high] += dominance
        if viseme.bilabial:
            bilabial_centres.append((start + end) / 2)
    track = (weighted / np.maximum(total, 1e-9)).reshape(n_frames, _SUBSTEPS, len(CHANNELS)).mean(axis=1)
    if level is not None:
        track[:, JAW] *= 1 - _LOUDNESS_SHARE + _LOUDNESS_SHARE * np.asarray(level)
    _shut(track, [int(centre * fps) for centre in bilabial_centres])
    return track.astype(np.float32)


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
        timed.extend((float(a), float(b), v) for a, b, v in zip(edges[:-1], edges[1:], parts))
        cursor = max(cursor, end)
    if cursor < duration:
        timed.append((cursor, duration, _REST))
    return timed


def _shut(track: np.ndarray, frames: Sequence[int]) -> None:
    """Close the lips fully on these frames of a (n, 5) track, in place; the blend already eases the frames beside them."""
    for frame in frames:
        if 0 <= frame < len(track):
            track[frame, CLOSE] = 1.0
            track[frame, JAW] = 0.0
            track[frame, DENTAL] = 0.0


def acoustic_track(audio: np.ndarray, sample_rate: int, n_frames: int, fps: int) -> np.ndarray:
    """(n_frames, 5) float32 mouth channels (CHANNELS order) estimated from mono float audio (N,) alone.

    Language-independent: loudness opens the jaw as far as the first-formant
    band says the vowel is open; nasal murmur and hiss hold it nearly shut;
    the second-formant band spreads (high) or rounds (low) voiced sounds;
    dips between syllables (stop closures) and nasal murmur close the lips;
    weak, flat hiss brings the lower lip to the teeth. Silence is a closed,
    relaxed mouth.
    """
    features = acoustic_features(audio, sample_rate, n_frames * _HOPS_PER_FRAME, fps * _HOPS_PER_FRAME)
    level, voicing, f1, f2, nasal, hiss, flat = (features[:, i] for i in range(7))
    hop_s = 1.0 / (fps * _HOPS_PER_FRAME)
    speaking = _voice_activity(level, voicing, hiss, hop_s)
    voiced = np.clip((voicing - 0.3) / (_VOICED_ABOVE + 0.15 - 0.3), 0.0, 1.0) * speaking
    openness = np.clip((f1 - _F1_RANGE[0]) / (_F1_RANGE[1] - _F1_RANGE[0]), 0.0, 1.0)
    murmur = voiced * np.clip((nasal - _MURMUR_NASAL) / 0.3, 0.0, 1.0)
    hissing = np.clip((hiss - 0.2) / 0.4, 0.0, 1.0)
    target = np.zeros((len(level), len(CHANNELS)))
    target[:, JAW] = speaking * level * (0.2 + 0.8 * openness) * (1 - 0.9 * murmur) * (1 - 0.5 * hissing)
    target[:, SPREAD] = 0.9 * voiced * np.clip((f2 - _SPREAD_F2[0]) / (_SPREAD_F2[1] - _SPREAD_F2[0]), 0.0, 1.0)
    target[:, ROUND] = 0.9 * voiced * np.clip((f2 - _ROUND_F2[0]) / (_ROUND_F2[1] - _ROUND_F2[0]), 0.0, 1.0)
    fricative = speaking * (1 - voiced) * np.clip((hiss - 0.35) / 0.3, 0.0, 1.0)
    # Labiodental hiss is weak and spectrally flat; a sibilant's is loud and peaked.
    target[:, DENTAL] = fricative * flat * np.clip((0.45 - level) / 0.25, 0.0, 1.0)
    context = maximum_filter1d(level, size=2 * round(_DIP_CONTEXT_S / hop_s) + 1)
    dip = np.clip((context - level - _DIP_DEPTH) / 0.15, 0.0, 1.0) * (1 - hissing)
    quiet_murmur = murmur * np.clip((0.8 - level) / 0.3, 0.0, 1.0)
    near_speech = maximum_filter1d(speaking, size=2 * round(_DIP_CONTEXT_S / hop_s) + 1)
    target[:, CLOSE] = np.maximum(np.maximum(dip, quiet_murmur) * near_speech, 1 - near_speech)
    target = gaussian_filter1d(target, _ACOUSTIC_SMOOTHING_S / hop_s, axis=0, mode="nearest")
    track = target.reshape(n_frames, _HOPS_PER_FRAME, len(CHANNELS)).mean(axis=1)
    track[:, JAW] = np.minimum(_ACOUSTIC_JAW_GAIN * track[:, JAW], 1.0)
    closing = track[:, CLOSE]
    peaks = np.flatnonzero((closing > _CLOSURE_CANDIDATE) & (closing >= np.roll(closing, 1)) & (closing > np.roll(closing, -1)))
    steady = (voiced > 0.5) & (level > 0.4)
    labial = [frame for frame in peaks if _edge_f2(f2, steady, frame * _HOPS_PER_FRAME + _HOPS_PER_FRAME // 2) < _LABIAL_F2]
    _shut(track, labial)
    return np.clip(track, 0.0, 1.0).astype(np.float32)


def _edge_f2(f2: np.ndarray, steady: np.ndarray, hop: int) -> float:
    """Lowest F2-band centroid (Hz) of the steady voiced sound on either side of a closure at this hop.

    The second formant bends towards its locus as the lips close: low (about
    1 kHz) for the lips, high for the tongue tip, so a low edge marks /p b m/.
    """
    edges = []
    for step in (-1, 1):
        index = hop
        while 0 <= index < len(f2) and not steady[index]:
            index += step
        nearby = [i for i in range(index, index + 3 * step, step) if 0 <= i < len(f2) and steady[i]]
        if nearby:
            edges.append(float(np.mean(f2[nearby])))
    return min(edges) if edges else float("inf")


def acoustic_features(audio: np.ndarray, sample_rate: int, n_hops: int, hop_rate: float) -> np.ndarray:
    """(n_hops, 7) per-hop features of mono float audio (N,): level 0..1 (RMS over the hop, dB below the
    speech's loud end), voicing, F1 and F2 band centroids (Hz), nasal share, hiss share and spectral flatness
    of the hiss band; spectra over windows centred on each hop, taken a block of hops at a time so that
    memory stays flat however long the audio is."""
    audio = np.asarray(audio, np.float64)
    size = 1 << int(np.ceil(np.log2(_WINDOW_S * sample_rate)))
    centres = np.round((np.arange(n_hops) + 0.5) * sample_rate / hop_rate).astype(int)
    padded = np.pad(audio, (size // 2, size // 2 + 1))
    bounds = np.clip(np.round(np.arange(n_hops + 1) * sample_rate / hop_rate).astype(int), 0, len(audio))
    energy = np.concatenate([[0.0], np.cumsum(audio * audio)])
    mean_square = (energy[bounds[1:]] - energy[bounds[:-1]]) / np.maximum(np.diff(bounds), 1)
    db = 10 * np.log10(np.maximum(mean_square, 1e-12))
    loud = np.percentile(db, 95)
    level = np.clip((db - max(loud - _LEVEL_RANGE_DB, _SILENCE_DB)) / _LEVEL_RANGE_DB, 0.0, 1.0)
    if loud <= _SILENCE_DB:
        level[:] = 0.0
    spectral = [_spectral_features(padded, centres[start : start + _HOPS_PER_BLOCK], size, sample_rate)
                for start in range(0, n_hops, _HOPS_PER_BLOCK)]
    return np.column_stack([level, np.concatenate(spectral)])


def _spectral_features(padded: np.ndarray, centres: np.ndarray, size: int, sample_rate: int) -> np.ndarray:
    """(len(centres), 6) voicing, F1 and F2 centroids, nasal, hiss and hiss flatness of the windows of
    `size` samples of padded audio starting at each centre (the audio is padded by size // 2 in front)."""
    index = centres[:, None] + np.arange(size)[None, :]
    windows = padded[np.clip(index, 0, len(padded) - 1)] * np.hanning(size)
    power = np.abs(np.fft.rfft(windows, axis=1)) ** 2
    freqs = np.fft.rfftfreq(size, 1.0 / sample_rate)
    autocorrelation = np.fft.irfft(power, axis=1)
    lags = np.arange(*(np.round(np.array(_VOICING_LAGS_S) * sample_rate).astype(int) + [0, 1]))
    lags = lags[lags < size // 2]
    voicing = autocorrelation[:, lags].max(axis=1) / np.maximum(autocorrelation[:, 0], 1e-12)

    def band(low: float, high: float) -> np.ndarray:
        return (freqs >= low) & (freqs < min(high, sample_rate / 2))

    def centroid(low: float, high: float) -> np.ndarray:
        mask = band(low, high)
        weights = power[:, mask]
        return (weights @ freqs[mask]) / np.maximum(weights.sum(axis=1), 1e-12)

    total = power[:, band(60, 8000)].sum(axis=1) + 1e-12
    nasal = power[:, band(*_NASAL_BAND)].sum(axis=1) / total
    hiss_mask = band(*_HISS_BAND)
    hiss = power[:, hiss_mask].sum(axis=1) / total
    hiss_power = power[:, hiss_mask] + 1e-12
    flatness = np.exp(np.log(hiss_power).mean(axis=1)) / hiss_power.mean(axis=1)
    return np.stack([voicing, centroid(*_F1_BAND), centroid(*_F2_BAND), nasal, hiss, flatness], axis=1)


def _voice_activity(level: np.ndarray, voicing: np.ndarray, hiss: np.ndarray, hop_s: float) -> np.ndarray:
    """(n,) float 0/1: speech where loud enough and voiced or hissing, held briefly over short gaps."""
    active = (level > _SPEECH_LEVEL) & ((voicing > _VOICED_ABOVE) | (hiss > 0.35) | (level > 0.5))
    return maximum_filter1d(active.astype(float), size=2 * round(_HANGOVER_S / hop_s / 2) + 1)
