"""Oral closures in speech audio: where the tract closes, and whether at the lips (by murmur, burst and F2
transitions)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy.ndimage import maximum_filter1d

from .acoustics import (
    DB,
    F1,
    HIGH_BAND,
    HISS,
    LEVEL,
    LOW_BAND,
    MID_BAND,
    MUFFLING,
    NASAL,
    OVERSUBTRACTION,
    VOICING,
    Noise,
    denoised,
    power_spectra,
    short_window_size,
)

# Oral closures. A hop is closed where it lies _GAP_DEPTH level units below
# the loudest sound within CLOSURE_CONTEXT_S and is quiet (below _GAP_LEVEL),
# a voice bar or nasal murmur, or lies _DEEP_GAP below it; or where a voice
# bar or nasal murmur lies _MURMUR_DEPTH below it. Shallower, brighter dips
# are approximants.
CLOSURE_CONTEXT_S = 0.12
_GAP_DEPTH, _GAP_LEVEL, _DEEP_GAP, _MURMUR_DEPTH = 0.3, 0.35, 0.45, 0.1
# A closed tract radiates only its lowest harmonics, and weakly: a voice bar
# has its mid band _VOICE_BAR_DB or more below its low band and lies
# _VOICE_BAR_DEPTH below the sounds around it.
_VOICE_BAR_DB, _VOICE_BAR_DEPTH = -25.0, 0.25
# Nasal murmur: the nasal band holds over _MURMUR_NASAL of the energy, F1 is
# below _MURMUR_F1 (reference Hz) and the mid band is _MURMUR_MUFFLED_DB below
# the low band. LPC may resolve no first resonance below _UNRESOLVED_F1 in
# murmur (in a high voice it is too broad between the harmonics; a nasal's
# antiresonance can hide it in any voice): then a nasal share over
# _MURMUR_NASAL_ALONE and a mid band _UNRESOLVED_MUFFLED_DB down do.
_MURMUR_NASAL, _MURMUR_F1, _MURMUR_MUFFLED_DB = 0.55, 310.0, -10.0
_MURMUR_NASAL_ALONE, _UNRESOLVED_F1, _UNRESOLVED_MUFFLED_DB = 0.75, 600.0, -6.0
# The nasal tract's resonance above the murmur's first lies in
# _MURMUR_RESONANCE: near 1 kHz behind closed lips, near 1.7 kHz or higher
# behind the tongue; below _LABIAL_MURMUR_HZ the lips are shut. Murmur whose
# F2 jumps _NASAL_F2_JUMP between hops changes place ("nm"), where each
# nasal lasts _NASAL_PART_S or more: the resonance of a shorter stretch is
# read on too few hops, and under room noise F2 jumps between them.
_MURMUR_RESONANCE, _LABIAL_MURMUR_HZ, _NASAL_F2_JUMP = (700.0, 2500.0), 1300.0, 300.0
_NASAL_PART_S = 0.06
# A closure shorter than this is a tap or a transition, not a stop the lips could make;
# a silence longer than _LONGEST_CLOSURE_S is a pause.
_SHORTEST_CLOSURE_S, _LONGEST_CLOSURE_S = 0.02, 0.15
# F2 transitions are read between a closure's edge (the first voiced hop
# _EDGE_ABOVE level units above the closure) and this far into the sound beside it.
_TRANSITION_S, _EDGE_ABOVE, _EDGE_VOICING = 0.05, 0.05, 0.3
# A release burst rises at least _BURST_RISE_DB within 3 ms, between the
# closure's quietest moment and _RELEASE_AFTER_S after its end, and is noise
# (spectral flatness at least _BURST_FLATNESS; checked after short or bright
# dips, where a vowel may start as sharply). Its spectrum over 10 ms, in dB:
# rising (high over mid band) above _RISING_BURST_DB is a tongue tip's,
# compact (mid over low) above _COMPACT_BURST_DB a velar's; a labial's
# falls across the spectrum, both high over mid and mid over low below
# _FALLING_BURST_DB (a telephone band has no high band, so every burst
# falls from mid to high there).
_BURST_RISE_DB, _BURST_FLATNESS = 9.0, 0.05
_RELEASE_AFTER_S = 0.02
_RISING_BURST_DB, _COMPACT_BURST_DB, _FALLING_BURST_DB = -3.0, 0.0, -4.0
# A stop is labial when its votes sum above _LABIAL_VOTES: the burst's
# (+ falling, - rising or compact) and each side's F2 transition
# (_TRANSITION_VOTE per _TRANSITION_HZ that F2 bends down toward the closure).
_BURST_VOTE, _TRANSITION_VOTE, _TRANSITION_HZ, _LABIAL_VOTES = 1.5, 0.5, 60.0, 0.5


def oral_closures(
    audio: np.ndarray,
    sample_rate: int,
    features: np.ndarray,
    formants: np.ndarray,
    scale: float,
    speaking: np.ndarray,
    hop_s: float,
    noise: Noise,
) -> list[tuple[int, int, bool]]:
    """(first hop, hop after the last, labial) for every oral closure in per-hop features (n, len(FEATURES)).

    A closure is a gap well below the sounds around it (a stop's silence or
    voice bar, or a very deep dip) or murmur (voiced, low F1, little energy
    above the lowest band) a little below them, without hiss, near speech;
    a longer silence is a pause, and audio that starts mid-sound starts
    with a closure. Nasal murmur is placed by its second resonance (low
    behind the lips); the rest are stops, placed by their release burst (a
    labial's falls with frequency, a tongue tip's rises, a velar's peaks in
    the middle) and the F2 transitions on either side (F2 bends down into a
    labial closure and rises out of it). A nasal next to a stop ("nb") or
    to another nasal ("nm") is placed apart from it.
    """
    level, voicing, nasal, hiss, muffling = (features[:, i] for i in (LEVEL, VOICING, NASAL, HISS, MUFFLING))
    f1, f2 = formants[:, 0], formants[:, 1]
    size = 2 * round(CLOSURE_CONTEXT_S / hop_s) + 1
    depth = maximum_filter1d(level, size=size) - level
    near_speech = maximum_filter1d(speaking, size=size) > 0
    voiced = voicing > 0.4
    # A stop's closed tract radiates only its lowest harmonics, and weakly (a voice bar).
    voice_bar = voiced & (muffling < _VOICE_BAR_DB) & (depth > _VOICE_BAR_DEPTH)
    # Nasal murmur: the lowest band dominates and F1 is low (unsmoothed too: a
    # short murmur keeps its low F1 only on its own hops). Where LPC finds no
    # low first resonance in it (see _UNRESOLVED_F1), a yet more dominant
    # lowest band stands in for it.
    low_f1 = ((f1 > 0) & (f1 < _MURMUR_F1)) | ((features[:, F1] > 0) & (features[:, F1] / scale < _MURMUR_F1))
    unresolved = f1 > _UNRESOLVED_F1
    nasal_murmur = (
        voiced
        & ~voice_bar
        & (
            ((nasal > _MURMUR_NASAL) & low_f1 & (muffling < _MURMUR_MUFFLED_DB))
            | ((nasal > _MURMUR_NASAL_ALONE) & unresolved & (muffling < _UNRESOLVED_MUFFLED_DB))
        )
    )
    # A stop's closure falls silent (voicing stops) or to a voice bar. A dip this deep may also be a stop
    # in a high voice whose voice bar stays bright, or an approximant: it is a closure, but it takes some
    # positive cue to make it a lip closure.
    stop_closure = ((level < _GAP_LEVEL) & ~voiced) | voice_bar
    sure = stop_closure | nasal_murmur
    gap = (depth > _GAP_DEPTH) & (sure | (depth > _DEEP_GAP))
    fricative = (hiss >= 0.3) & (level >= 0.1)  # hiss at the noise floor is the noise's
    closed = near_speech & ~fricative & (gap | ((voice_bar | nasal_murmur) & (depth > _MURMUR_DEPTH)))
    closed[1:-1] |= closed[:-2] & closed[2:]
    nasal_murmur &= closed
    reach = max(round(_TRANSITION_S / hop_s), 1)
    shortest = max(round(_SHORTEST_CLOSURE_S / hop_s), 1)
    nasal_part = max(round(_NASAL_PART_S / hop_s), shortest)
    # A silence longer than a stop is a pause: the mouth rests there as in any silence.
    longest = round(_LONGEST_CLOSURE_S / hop_s)
    for start, end in _runs(level < _GAP_LEVEL):
        if end - start > longest:
            closed[start:end] = False
    # Audio that starts mid-sound starts from the closed mouth of rest: a
    # closure of one hop before the first release, placed like any other.
    if len(closed) > 1 and level[0] > _GAP_LEVEL and not closed[0]:
        closed[0] = True
    closures = []
    released = -len(level)
    for start, end in _runs(closed):
        for part_start, part_end, is_nasal in _parts(
            nasal_murmur[start:end], voice_bar[start:end], f2[start:end], shortest, nasal_part
        ):
            part_start, part_end = start + part_start, start + part_end
            length = part_end - part_start
            if not is_nasal and length <= shortest and part_start - released <= 2 * shortest:
                continue  # a breath between a release and the voicing, not a new closure
            murmur = burst = None
            if is_nasal:
                murmur = _murmur_resonance(formants[part_start:part_end][nasal_murmur[part_start:part_end]])
            elif part_end == end:
                quietest = part_start + int(np.argmin(level[part_start:part_end]))
                # After a short dip, or one neither silent nor a voice bar (an approximant's,
                # murmur-like as /ð/ may be), a vowel may start as sharply as a burst.
                burst = _release(
                    audio,
                    sample_rate,
                    quietest * hop_s,
                    part_end * hop_s,
                    noise,
                    must_be_noise=length <= shortest or not stop_closure[part_start:part_end].any(),
                )
            left = _transition(features, f2, part_start, part_end, -1, reach) if part_start == start else None
            right = _transition(features, f2, part_start, part_end, 1, reach) if part_end == end else None
            # One hop of murmur is too short for a nasal of its own: an /l/ dips that briefly with a low resonance.
            long_enough = length >= (1 if part_start == 0 else shortest)
            cues = _Cues(murmur, burst, left, right)
            labial = long_enough and _labial(cues, stop_closure[part_start:part_end].any(), part_start == 0)
            closures.append((part_start, part_end, labial))
            released = part_end
    return closures


@dataclass(frozen=True)
class _Cues:
    """Where one oral closure was made, as its acoustics tell (None: not measurable)."""

    murmur: float | None  # nasal resonance (reference Hz) of a nasal's murmur
    burst: tuple[float, float] | None  # (compact, rising) dB of a stop's release burst
    left: float | None  # Hz that F2 bends down into the closure from the sound before it
    right: float | None  # ... and out of it into the sound after it


def _murmur_resonance(formants: np.ndarray) -> float:
    """Median (Hz) over murmur hops (formants (n, 3), reference tract) of the lowest formant within
    _MURMUR_RESONANCE: the nasal tract's resonance above the murmur's first, whichever slot LPC put it in."""
    inside = (formants >= _MURMUR_RESONANCE[0]) & (formants <= _MURMUR_RESONANCE[1])
    lowest = np.where(inside, formants, np.inf).min(axis=1)
    return float(np.median(lowest[np.isfinite(lowest)])) if np.isfinite(lowest).any() else float("inf")


def _labial(cues: _Cues, sure: bool, at_rest: bool = False) -> bool:
    """Whether a closure's cues place it at the lips; a sure stop (silent or voice bar) without any cue is
    taken to be labial, one without a burst needs F2 to fall into it on every side measured. The closure
    audio starts in (at_rest) is the mouth at rest, lips together, unless its cues place it at the tongue."""
    if cues.murmur is not None:
        return cues.murmur < _LABIAL_MURMUR_HZ
    transitions = [t for t in (cues.left, cues.right) if t is not None]
    if cues.burst is None and not transitions:
        return sure
    if cues.burst is None and not at_rest and min(transitions, default=0.0) < _TRANSITION_HZ / 2:
        # Without a burst, F2 must bend down into the closure wherever it is measured: lips narrowing lower it
        # on both sides, while one side's F2 alone wavers (an approximant's, or a vowel's under room noise).
        return False
    votes = sum(_TRANSITION_VOTE * float(np.clip(t / _TRANSITION_HZ, -1.5, 1.5)) for t in transitions)
    if cues.burst is not None:
        compact, rising = cues.burst
        if rising > _RISING_BURST_DB or compact > _COMPACT_BURST_DB:
            votes -= _BURST_VOTE
        elif rising < _FALLING_BURST_DB and compact < _FALLING_BURST_DB:
            votes += _BURST_VOTE
    return votes > (-_LABIAL_VOTES if at_rest else _LABIAL_VOTES)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of every run of True in a (n,) bool mask."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(int(start), int(end)) for start, end in zip(edges[::2], edges[1::2], strict=False)]


def _parts(
    nasal: np.ndarray, voice_bar: np.ndarray, f2: np.ndarray, shortest: int, nasal_part: int
) -> list[tuple[int, int, bool]]:
    """(start, end, nasal) parts of one closure whose hops are nasal murmur where nasal (n,) is True.

    Stretches of murmur whose F2 (n,) jumps apart are separate nasals of nasal_part hops or more. A
    stop stretch before the first murmur joins it (a stop before a nasal
    shares its place, as in "submit", "partner"), as does one shorter than
    shortest hops between or after murmur; a longer one after murmur is a
    stop of its own ("nb"). From a voice bar (voice_bar (n,)) of shortest
    hops on, the rest is one stop: murmur after a voice bar is its voiced
    release. A lone murmur hop beside a longer stop is that stop's own edge.
    """
    jumps = np.flatnonzero(np.abs(np.diff(f2)) > _NASAL_F2_JUMP) + 1
    runs = [
        (a, b)
        for start, end in _runs(nasal)
        if end - start >= min(shortest, len(nasal) / 2)
        for a, b in _split(start, end, jumps, nasal_part)
    ]
    if not runs:
        return [(0, len(nasal), False)]
    parts: list[tuple[int, int, bool]] = []
    cursor = 0
    for start, end in runs:
        if voice_bar[cursor:start].sum() >= shortest:
            break  # murmur after a voice bar is that stop's voiced release
        if start - cursor >= shortest and parts:
            parts.append((cursor, start, False))
            cursor = start
        parts.append((cursor, end, True))
        cursor = end
    if len(nasal) - cursor >= shortest:
        parts.append((cursor, len(nasal), False))
    else:
        parts[-1] = (parts[-1][0], len(nasal), True)
    return parts


def _split(start: int, end: int, cuts: np.ndarray, shortest: int) -> list[tuple[int, int]]:
    """[start, end) cut at every index of cuts inside it that leaves no piece shorter than shortest
    (one hop's resonance is too unsure to place a nasal of its own)."""
    edges = [start]
    for cut in (int(cut) for cut in cuts):
        if cut - edges[-1] >= shortest and end - cut >= shortest:
            edges.append(cut)
    return list(pairwise([*edges, end]))


def _release(
    audio: np.ndarray, sample_rate: int, quietest_s: float, end_s: float, noise: Noise, *, must_be_noise: bool
) -> tuple[float, float] | None:
    """(compact, rising) dB of the burst of a stop whose closure is quietest at quietest_s and ends at
    end_s (mid band over low band, high band over mid band, over the 10 ms from the burst's onset), or
    None where no burst is found.

    The burst's onset is the sharpest rise of high-passed energy within 3 ms
    (in 1 ms steps) between the closure's quietest moment and
    _RELEASE_AFTER_S past its end, at least _BURST_RISE_DB. Where
    must_be_noise, a harmonic onset (flatness under _BURST_FLATNESS) is no
    burst. The recording's background noise is taken out of both.
    """
    step = max(round(0.001 * sample_rate), 1)
    smooth, lag = max(round(0.002 * sample_rate), 1), 3
    size = short_window_size(sample_rate)
    low = round(quietest_s * sample_rate) - lag * step - smooth
    high = round((end_s + _RELEASE_AFTER_S) * sample_rate) + size
    if high > len(audio):
        return None
    # Before the recording is silence.
    segment = np.concatenate([np.zeros(max(1 - low, 0)), np.asarray(audio[max(low - 1, 0) : high], np.float64)])
    energy = np.convolve(np.diff(segment) ** 2, np.ones(smooth) / smooth, mode="valid")[::step]
    log = DB * np.log10(np.maximum(energy - OVERSUBTRACTION * noise.difference_square, 0.0) + 1e-12)
    rise = log[lag:] - log[:-lag]
    searched = rise[: len(rise) - size // step]
    if not len(searched) or searched.max() < _BURST_RISE_DB:
        return None
    onset = (int(np.argmax(searched)) + lag) * step
    window = segment[onset + 1 : onset + 1 + size]
    power = denoised(power_spectra(window), noise.short_spectrum) + 1e-20
    freqs = np.fft.rfftfreq(size, 1.0 / sample_rate)
    burst = power[(freqs >= LOW_BAND[1] / 4) & (freqs < HIGH_BAND[1])]
    if must_be_noise and np.exp(np.log(burst).mean()) / burst.mean() < _BURST_FLATNESS:
        return None
    bands = [DB * np.log10(power[(freqs >= a) & (freqs < b)].mean()) for a, b in (LOW_BAND, MID_BAND, HIGH_BAND)]
    return bands[1] - bands[0], bands[2] - bands[1]


def _transition(features: np.ndarray, f2: np.ndarray, start: int, end: int, step: int, reach: int) -> float | None:
    """How far (Hz) F2 falls toward a closure on one side (step -1: before it, 1: after it), or None
    where no voiced sound borders it: positive where F2 bends down into the closure, as at the lips.

    F2 on the first voiced hop beside the closure against F2 on the loudest
    hop of the sound there, within reach hops.
    """
    level = features[:, LEVEL]
    floor = 0.0 if start == 0 else level[start:end].min()  # before the audio is silence
    beside = start - 1 if step < 0 else end
    edge = None
    for hop in range(beside, beside + reach * step, step):
        if not 0 <= hop < len(f2) or level[hop] <= floor + _EDGE_ABOVE:
            break
        if features[hop, VOICING] > _EDGE_VOICING and f2[hop] > 0 and features[hop, MUFFLING] > _MURMUR_MUFFLED_DB:
            edge = hop
            break
    if edge is None:
        return None
    vowel = [
        hop
        for hop in range(edge, edge + 2 * reach * step, step)
        if 0 <= hop < len(f2) and level[hop] > floor + _EDGE_ABOVE and f2[hop] > 0
    ]
    vowel = vowel[: next((i for i in range(1, len(vowel)) if abs(vowel[i] - vowel[i - 1]) > 1), len(vowel))]
    nucleus = max(vowel, key=lambda hop: level[hop])
    return float(f2[nucleus] - f2[edge])
