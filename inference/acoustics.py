"""Acoustic analysis of speech: per-hop loudness, voicing, formants and band shares, the background noise taken out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from scipy import ndimage
from scipy.ndimage import maximum_filter1d, minimum_filter1d

# Acoustic analysis: 30 ms windows every quarter frame; a voice bar or a
# stop's release burst lasts a few ms, so 10 ms windows measure those.
_WINDOW_S, _SHORT_WINDOW_S = 0.03, 0.01
# Spectra are taken this many hops at a time (about 10 s of audio at 25 fps).
_HOPS_PER_BLOCK = 1000
_VOICING_LAGS_S = (1 / 400, 1 / 70)  # pitch periods of speech
_SILENCE_DB = -50.0  # dBFS: quieter is silence whatever the recording's level
# Background noise (see _background_noise), taken out OVERSUBTRACTION times
# (its level wavers from hop to hop) down to _SPECTRAL_FLOOR of each bin.
_NOISE_STRETCH_S, _NOISE_STEADINESS, _NOISE_BELOW_DB, _NOISE_SPREAD, _NOISE_HOPS = 0.15, 4.0, 12.0, 2.0, 200
OVERSUBTRACTION, _SPECTRAL_FLOOR = 2.5, 0.02
# Loudness 0..1 spans this many dB below the loud end of the speech.
_LEVEL_RANGE_DB = 35.0
_NASAL_BAND, _HISS_BAND = (60, 400), (3000, 8000)
LOW_BAND, MID_BAND, HIGH_BAND = (60, 1200), (1200, 3500), (3500, 8000)
DB = 10.0
# A recording's spectral tilt (see _level_tilt): the median nasal band share and muffling (dB) of its loud voiced
# hops are brought down to these where higher, when it has at least _TILT_LEAST_HOPS such hops.
_TILT_REFERENCE = (0.6, -10.0)
_TILT_LEVEL, _TILT_VOICING, _TILT_LEAST_HOPS = 0.6, 0.6, 20
# Formants by linear prediction (autocorrelation method, order 2 + kHz of the
# band) over the band below _LPC_TOP_HZ, where F1-F3 of any voice lie; roots
# broader than _FORMANT_MAX_BANDWIDTH are not formants.
_LPC_TOP_HZ = 5000.0
_PRE_EMPHASIS = 0.97
_LAG_WINDOW_HZ = 40.0
_FORMANT_LOWEST_HZ, _FORMANT_MAX_BANDWIDTH = 150.0, 500.0
_FORMANT_VOICING = 0.2  # formants are read on voiced hops only
# Columns of acoustic_features.
# Speech in a recording (speech_windows): windows within SPEECH_RANGE_DB of the loudest one, at most SPEECH_REACH
# windows from a run of SPEECH_RUN of them in a row (a click is too short to start speech; a syllable's soft edges
# still belong to it).
SPEECH_WINDOW_S = 0.02
SPEECH_RANGE_DB = 30.0
SPEECH_RUN = 5
SPEECH_REACH = 15
FEATURES = ("level", "voicing", "f1", "f2", "f3", "nasal", "hiss", "flatness", "muffling")
LEVEL, VOICING, F1, F2, F3, NASAL, HISS, FLATNESS, MUFFLING = range(len(FEATURES))


def speech_windows(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """(N // window,) bool: which SPEECH_WINDOW_S windows of mono audio (N,) hold speech, by loudness alone.

    Empty for audio shorter than a window or silent throughout; a recording without a run of loud windows counts
    every loud window.
    """
    window = max(1, round(SPEECH_WINDOW_S * sample_rate))
    if audio.size < window:
        return np.zeros(0, bool)
    stretches = audio[: audio.size // window * window].reshape(-1, window)
    loudness = np.sqrt(np.mean(np.square(stretches, dtype=np.float64), axis=1))
    if loudness.max() <= 0:
        return np.zeros(loudness.size, bool)
    loud = loudness >= loudness.max() * 10 ** (-SPEECH_RANGE_DB / 20)
    in_run = ndimage.binary_opening(loud, structure=np.ones(SPEECH_RUN, bool))
    if not in_run.any():
        return cast(np.ndarray, loud)
    return cast(np.ndarray, loud & ndimage.binary_dilation(in_run, iterations=SPEECH_REACH))


def acoustic_features(audio: np.ndarray, sample_rate: int, n_hops: int, hop_rate: float) -> np.ndarray:
    """(n_hops, len(FEATURES)) per-hop features of mono float audio (N,), columns in FEATURES order.

    The recording's steady background noise is taken out first (see
    _background_noise). level 0..1 is the RMS over the hop, in dB below the speech's loud end;
    the rest come from spectra of windows centred on each hop, taken a block
    of hops at a time so that memory stays flat however long the audio is:
    voicing, F1-F3 (Hz; 0 where LPC finds none and on unvoiced hops), the
    shares of the nasal and hiss bands, the hiss band's flatness, and the
    muffling of the middle 10 ms (dB, mid band over low band).
    """
    return acoustic_analysis(audio, sample_rate, n_hops, hop_rate)[0]


def acoustic_analysis(audio: np.ndarray, sample_rate: int, n_hops: int, hop_rate: float) -> tuple[np.ndarray, Noise]:
    """acoustic_features and the background noise taken out of them."""
    audio = np.asarray(audio)
    size = 1 << int(np.ceil(np.log2(_WINDOW_S * sample_rate)))
    centres = np.round((np.arange(n_hops) + 0.5) * sample_rate / hop_rate).astype(int)
    bounds = np.clip(np.round(np.arange(n_hops + 1) * sample_rate / hop_rate).astype(int), 0, len(audio))
    mean_square = np.concatenate(
        [
            _mean_squares(audio, bounds[start : start + _HOPS_PER_BLOCK + 1])
            for start in range(0, n_hops, _HOPS_PER_BLOCK)
        ]
    )
    noise = _background_noise(audio, sample_rate, mean_square, centres, hop_rate, size)
    db = 10 * np.log10(np.maximum(mean_square - OVERSUBTRACTION * noise.mean_square, 1e-12))
    loud = np.percentile(db, 95)
    level = np.clip((db - max(loud - _LEVEL_RANGE_DB, _SILENCE_DB)) / _LEVEL_RANGE_DB, 0.0, 1.0)
    if loud <= _SILENCE_DB:
        level[:] = 0.0
    spectral = [
        _spectral_features(audio, centres[start : start + _HOPS_PER_BLOCK], size, sample_rate, noise)
        for start in range(0, n_hops, _HOPS_PER_BLOCK)
    ]
    features = np.column_stack([level, np.concatenate(spectral)])
    _level_tilt(features)
    return features, noise


def _level_tilt(features: np.ndarray) -> None:
    """Read a recording darker than _TILT_REFERENCE as if its low band were that much quieter, in place.

    Microphones, rooms and voices differ in how much of the energy lies in the
    low band: on a recorded voice's loud voiced hops the nasal band's median
    share is 46-91% (Asterisk's five speakers), on espeak's 6-70%, and the
    darker ones' vowels read as nasal murmur (a closed mouth). Nasal
    murmur is told from vowels within the recording, so its loud voiced hops
    (mostly vowels) are brought to the reference: the nasal band share by a
    gain on the low band, the muffling by a shift in dB. Brighter recordings
    are left as they are.
    """
    vowels = (features[:, LEVEL] > _TILT_LEVEL) & (features[:, VOICING] > _TILT_VOICING)
    if vowels.sum() < _TILT_LEAST_HOPS:
        return
    nasal = np.clip(features[:, NASAL], 1e-6, 1 - 1e-6)
    odds = nasal / (1 - nasal)
    reference_nasal, reference_muffling = _TILT_REFERENCE
    gain = min(1.0, reference_nasal / (1 - reference_nasal) / float(np.median(odds[vowels])))
    features[:, NASAL] = gain * odds / (1 + gain * odds)
    features[:, MUFFLING] += max(0.0, reference_muffling - float(np.median(features[vowels, MUFFLING])))


def _background_noise(
    audio: np.ndarray, sample_rate: int, mean_square: np.ndarray, centres: np.ndarray, hop_rate: float, size: int
) -> Noise:
    """The recording's background noise, read on its quietest steady stretch; none where it has no such stretch.

    Noise is what stays within _NOISE_STEADINESS (mean square, max over min)
    for _NOISE_STRETCH_S, at least _NOISE_BELOW_DB below the loud end: a
    pause. Speech rarely holds that still that quietly for as long (its
    closures and fricatives are shorter), and digital silence has none to
    take out. The median over the hops within _NOISE_SPREAD times the
    quietest such stretch gives its level and its spectra.
    """
    span = 2 * round(_NOISE_STRETCH_S * hop_rate / 2) + 1
    # A stretch lies wholly inside the recording.
    highest = maximum_filter1d(mean_square, span, mode="constant", cval=np.inf)
    lowest = minimum_filter1d(mean_square, span, mode="constant", cval=0.0)
    loud = np.percentile(mean_square, 95)
    steady = (highest <= _NOISE_STEADINESS * lowest) & (highest <= loud * 10 ** (-_NOISE_BELOW_DB / 10))
    if not steady.any() or highest[steady].min() <= 0.0:
        return Noise(0.0, 0.0, 0.0, 0.0)
    quiet = np.flatnonzero(steady & (highest <= _NOISE_SPREAD * highest[steady].min()))
    quiet = quiet[np.linspace(0, len(quiet) - 1, min(len(quiet), _NOISE_HOPS)).astype(int)]
    short = _windows(audio, centres[quiet], short_window_size(sample_rate))
    return Noise(
        float(np.median(mean_square[quiet])),
        float(np.median(np.mean(np.diff(short, axis=1) ** 2, axis=1))),
        np.median(power_spectra(_windows(audio, centres[quiet], size)), axis=0),
        np.median(power_spectra(short), axis=0),
    )


def _mean_squares(audio: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """(len(bounds) - 1,) mean square of audio (N,) between consecutive sample bounds (0 where they meet)."""
    segment = np.square(np.asarray(audio[bounds[0] : bounds[-1]], np.float64))
    counts = np.diff(bounds)
    sums = np.zeros(len(counts))
    filled = counts > 0
    if filled.any():
        # reduceat sums each span up to the next start; the last filled span ends where the segment does.
        sums[filled] = np.add.reduceat(segment, bounds[:-1][filled] - bounds[0])
    return sums / np.maximum(counts, 1)


@dataclass(frozen=True)
class Noise:
    """A recording's background noise: mean square per sample, that of its first difference (the release
    detector's high-passed energy), and power spectra in the long and short windows."""

    mean_square: float
    difference_square: float
    spectrum: np.ndarray | float
    short_spectrum: np.ndarray | float


def _windows(audio: np.ndarray, centres: np.ndarray, size: int) -> np.ndarray:
    """(len(centres), size) samples of audio (N,) centred on each centre sample (silence beyond the audio's ends)."""
    low, high = centres[0] - size // 2, centres[-1] - size // 2 + size
    segment = np.zeros(high - low)
    inside = slice(max(low, 0), max(min(high, len(audio)), low, 0))
    segment[inside.start - low : inside.stop - low] = audio[inside]
    return cast(np.ndarray, segment[centres[:, None] - size // 2 - low + np.arange(size)[None, :]])


def power_spectra(windows: np.ndarray) -> np.ndarray:
    """Hann-windowed power spectra of sample windows (..., size), along the last axis."""
    return np.abs(np.fft.rfft(windows * np.hanning(windows.shape[-1]), axis=-1)) ** 2


def short_window_size(sample_rate: int) -> int:
    """Samples in the short (_SHORT_WINDOW_S) window, a power of two."""
    return cast(int, 1 << round(np.log2(_SHORT_WINDOW_S * sample_rate)))


def denoised(power: np.ndarray, noise: np.ndarray | float) -> np.ndarray:
    """Power spectra with the noise's taken out, keeping _SPECTRAL_FLOOR of each bin (spectral subtraction)."""
    return np.maximum(power - OVERSUBTRACTION * noise, _SPECTRAL_FLOOR * power)


def _spectral_features(audio: np.ndarray, centres: np.ndarray, size: int, sample_rate: int, noise: Noise) -> np.ndarray:
    """(len(centres), len(FEATURES) - 1) the spectral features (all but level) of the windows of `size`
    samples of audio (N,) centred on each centre sample, the noise taken out."""
    samples = _windows(audio, centres, size)
    power = denoised(power_spectra(samples), noise.spectrum)
    freqs = np.fft.rfftfreq(size, 1.0 / sample_rate)
    autocorrelation = np.fft.irfft(power, axis=1)
    lags = np.arange(*(np.round(np.array(_VOICING_LAGS_S) * sample_rate).astype(int) + [0, 1]))
    lags = lags[lags < size // 2]
    voicing = autocorrelation[:, lags].max(axis=1) / np.maximum(autocorrelation[:, 0], 1e-12)
    total = _band(power, freqs, (60, 8000)) + 1e-12
    hiss_power = power[:, (freqs >= _HISS_BAND[0]) & (freqs < min(_HISS_BAND[1], sample_rate / 2))] + 1e-12
    flatness = np.exp(np.log(hiss_power).mean(axis=1)) / hiss_power.mean(axis=1)
    # Muffling over the middle 10 ms only: a voice bar may last no longer.
    short = short_window_size(sample_rate)
    middle = samples[:, size // 2 - short // 2 : size // 2 + short // 2]
    short_power = denoised(power_spectra(middle), noise.short_spectrum)
    short_freqs = np.fft.rfftfreq(short, 1.0 / sample_rate)
    muffling = DB * np.log10(
        (_band(short_power, short_freqs, MID_BAND) + 1e-12) / (_band(short_power, short_freqs, LOW_BAND) + 1e-12)
    )
    formants = np.zeros((len(centres), 3))
    voiced = voicing > _FORMANT_VOICING
    formants[voiced] = _formants(power[voiced], freqs, sample_rate)
    return np.column_stack(
        [
            voicing,
            formants,
            _band(power, freqs, _NASAL_BAND) / total,
            _band(power, freqs, _HISS_BAND) / total,
            flatness,
            muffling,
        ]
    )


def _band(power: np.ndarray, freqs: np.ndarray, band: tuple[float, float]) -> np.ndarray:
    """(n,) power of spectra (n, len(freqs)) in the band [low, high) Hz."""
    return cast(np.ndarray, power[:, (freqs >= band[0]) & (freqs < band[1])].sum(axis=1))


def _formants(power: np.ndarray, freqs: np.ndarray, sample_rate: int) -> np.ndarray:
    """(n, 3) the lowest three formants (Hz, 0 where none) of windows' power spectra (n, len(freqs)) by LPC.

    The autocorrelation method on the spectrum below _LPC_TOP_HZ (the band
    where F1-F3 lie, as if the audio were resampled there), pre-emphasized;
    order 2 + kHz of that band. Formants are the roots of the predictor
    polynomial with a narrow enough bandwidth, lowest first.
    """
    top = int(np.searchsorted(freqs, min(_LPC_TOP_HZ, sample_rate / 2), side="right"))
    band_rate = 2 * freqs[top - 1]
    order = int(2 + band_rate / 1000)
    emphasis = 1 + _PRE_EMPHASIS**2 - 2 * _PRE_EMPHASIS * np.cos(2 * np.pi * freqs[:top] / sample_rate)
    autocorrelation = np.fft.irfft(power[:, :top] * emphasis, axis=1)[:, : order + 1]
    # A Gaussian lag window widens every pole a little and keeps the fit stable on pure harmonics.
    autocorrelation = autocorrelation * np.exp(
        -0.5 * (2 * np.pi * _LAG_WINDOW_HZ * np.arange(order + 1) / band_rate) ** 2
    )
    autocorrelation[:, 0] = autocorrelation[:, 0] * (1 + 1e-6) + 1e-12
    predictor = _levinson(autocorrelation)
    companion = np.zeros((len(predictor), order, order))
    companion[:, 0, :] = -predictor[:, 1:]
    companion[:, np.arange(1, order), np.arange(order - 1)] = 1.0
    roots = np.linalg.eigvals(companion)
    frequency = np.angle(roots) * band_rate / (2 * np.pi)
    bandwidth = -np.log(np.maximum(np.abs(roots), 1e-9)) * band_rate / np.pi
    formant = (frequency > _FORMANT_LOWEST_HZ) & (frequency < band_rate / 2 - 50) & (bandwidth < _FORMANT_MAX_BANDWIDTH)
    found = np.sort(np.where(formant, frequency, np.inf), axis=1)[:, :3]
    return np.where(np.isfinite(found), found, 0.0)


def _levinson(autocorrelation: np.ndarray) -> np.ndarray:
    """(n, p + 1) predictor polynomials (leading 1) from autocorrelations (n, p + 1), by the Levinson-Durbin
    recursion."""
    n, size = autocorrelation.shape
    predictor = np.zeros((n, size))
    predictor[:, 0] = 1.0
    error = autocorrelation[:, 0].copy()
    for order in range(1, size):
        reflection = -(predictor[:, :order] * autocorrelation[:, order:0:-1]).sum(axis=1) / error
        predictor[:, 1 : order + 1] += reflection[:, None] * predictor[:, order - 1 :: -1][:, :order]
        error *= 1 - reflection * reflection
    return predictor
