"""Mouth articulation per frame: coarticulated visemes from phoneme timings, or acoustic estimates from audio alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d, median_filter, minimum_filter1d

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

# Acoustic analysis: 30 ms windows every quarter frame; a voice bar or a
# stop's release burst lasts a few ms, so 10 ms windows measure those.
_WINDOW_S, _SHORT_WINDOW_S = 0.03, 0.01
_HOPS_PER_FRAME = 4
# Spectra are taken this many hops at a time (about 10 s of audio at 25 fps).
_HOPS_PER_BLOCK = 1000
_VOICING_LAGS_S = (1 / 400, 1 / 70)  # pitch periods of speech
_VOICED_ABOVE = 0.45
_SPEECH_LEVEL = 0.3
_SILENCE_DB = -50.0  # dBFS: quieter is silence whatever the recording's level
# Background noise (see _background_noise), taken out _OVERSUBTRACTION times
# (its level wavers from hop to hop) down to _SPECTRAL_FLOOR of each bin.
_NOISE_STRETCH_S, _NOISE_STEADINESS, _NOISE_BELOW_DB, _NOISE_SPREAD, _NOISE_HOPS = 0.15, 4.0, 12.0, 2.0, 200
_OVERSUBTRACTION, _SPECTRAL_FLOOR = 2.5, 0.02
_HANGOVER_S = 0.1
# Loudness 0..1 spans this many dB below the loud end of the speech.
_LEVEL_RANGE_DB = 35.0
_NASAL_BAND, _HISS_BAND = (60, 400), (3000, 8000)
_LOW_BAND, _MID_BAND, _HIGH_BAND = (60, 1200), (1200, 3500), (3500, 8000)
_DB = 10.0
# Formants by linear prediction (autocorrelation method, order 2 + kHz of the
# band) over the band below _LPC_TOP_HZ, where F1-F3 of any voice lie; roots
# broader than _FORMANT_MAX_BANDWIDTH are not formants.
_LPC_TOP_HZ = 5000.0
_PRE_EMPHASIS = 0.97
_LAG_WINDOW_HZ = 40.0
_FORMANT_LOWEST_HZ, _FORMANT_MAX_BANDWIDTH = 150.0, 500.0
_FORMANT_VOICING = 0.2  # formants are read on voiced hops only
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

# Oral closures. A hop is closed where it lies _GAP_DEPTH level units below
# the loudest sound within _CLOSURE_CONTEXT_S and is quiet (below _GAP_LEVEL),
# a voice bar or nasal murmur, or lies _DEEP_GAP below it; or where a voice
# bar or nasal murmur lies _MURMUR_DEPTH below it. Shallower, brighter dips
# are approximants.
_CLOSURE_CONTEXT_S = 0.12
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
# F2 jumps _NASAL_F2_JUMP between hops changes place ("nm").
_MURMUR_RESONANCE, _LABIAL_MURMUR_HZ, _NASAL_F2_JUMP = (700.0, 2500.0), 1300.0, 300.0
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
# compact (mid over low) above _COMPACT_BURST_DB a velar's, falling below
# _FALLING_BURST_DB a labial's.
_BURST_RISE_DB, _BURST_FLATNESS = 9.0, 0.05
_RELEASE_AFTER_S = 0.02
_RISING_BURST_DB, _COMPACT_BURST_DB, _FALLING_BURST_DB = -3.0, 0.0, -4.0
# A stop is labial when its votes sum above _LABIAL_VOTES: the burst's
# (+ falling, - rising or compact) and each side's F2 transition
# (_TRANSITION_VOTE per _TRANSITION_HZ that F2 bends down toward the closure).
_BURST_VOTE, _TRANSITION_VOTE, _TRANSITION_HZ, _LABIAL_VOTES = 1.5, 0.5, 60.0, 0.5
# The lips are sealed over a whole lip closure and shut outright on the frames
# of its last _SHUT_BEFORE_RELEASE_S: its release is sharp, while its onset may
# still be the vowel before it fading out.
_SHUT_BEFORE_RELEASE_S = 0.02
# A tongue closure leaves the lips apart: the jaw keeps this share of the opening around it.
_TONGUE_JAW_SHARE = 0.5
# Columns of acoustic_features.
_FEATURES = ("level", "voicing", "f1", "f2", "f3", "nasal", "hiss", "flatness", "muffling")
_LEVEL, _VOICING, _F1, _F2, _F3, _NASAL, _HISS, _FLATNESS, _MUFFLING = range(len(_FEATURES))


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
        timed.extend((float(a), float(b), v) for a, b, v in zip(edges[:-1], edges[1:], parts, strict=False))
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
    features, noise = _acoustic_analysis(audio, sample_rate, n_frames * _HOPS_PER_FRAME, fps * _HOPS_PER_FRAME)
    hop_s = 1.0 / (fps * _HOPS_PER_FRAME)
    level, voicing, nasal, hiss = (features[:, i] for i in (_LEVEL, _VOICING, _NASAL, _HISS))
    speaking = _voice_activity(level, voicing, hiss, hop_s)
    voiced = np.clip((voicing - 0.3) / (_VOICED_ABOVE + 0.15 - 0.3), 0.0, 1.0) * speaking
    formants, scale = _reference_formants(features)
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
    target[:, DENTAL] = fricative * features[:, _FLATNESS] * np.clip((0.45 - level) / 0.25, 0.0, 1.0)
    context = 2 * round(_CLOSURE_CONTEXT_S / hop_s) + 1
    target[:, CLOSE] = 1 - maximum_filter1d(speaking, size=context)
    shut = []
    for start, end, labial in _closures(audio, sample_rate, features, formants, scale, speaking, hop_s, noise):
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
    return np.clip(track, 0.0, 1.0).astype(np.float32)


def _reference_formants(features: np.ndarray) -> tuple[np.ndarray, float]:
    """(n, 3) F1-F3 (Hz, 0 where LPC found none) of per-hop features, median-smoothed over three hops and
    scaled onto the reference vocal tract, and that scale (see _REFERENCE_F3)."""
    formants = median_filter(features[:, [_F1, _F2, _F3]], size=(3, 1), mode="nearest")
    vowel = (
        (features[:, _VOICING] > 0.5)
        & (features[:, _LEVEL] > 0.45)
        & (features[:, _NASAL] < 0.6)
        & (formants[:, 2] > 0)
    )
    scale = 1.0
    if vowel.sum() >= 10:
        scale = float(np.clip(np.median(formants[vowel, 2]) / _REFERENCE_F3, *_TRACT_SCALES))
    return formants / scale, scale


def _closures(
    audio: np.ndarray,
    sample_rate: int,
    features: np.ndarray,
    formants: np.ndarray,
    scale: float,
    speaking: np.ndarray,
    hop_s: float,
    noise: _Noise,
) -> list[tuple[int, int, bool]]:
    """(first hop, hop after the last, labial) for every oral closure in per-hop features (n, len(_FEATURES)).

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
    level, voicing, nasal, hiss, muffling = (features[:, i] for i in (_LEVEL, _VOICING, _NASAL, _HISS, _MUFFLING))
    f1, f2 = formants[:, 0], formants[:, 1]
    size = 2 * round(_CLOSURE_CONTEXT_S / hop_s) + 1
    depth = maximum_filter1d(level, size=size) - level
    near_speech = maximum_filter1d(speaking, size=size) > 0
    voiced = voicing > 0.4
    # A stop's closed tract radiates only its lowest harmonics, and weakly (a voice bar).
    voice_bar = voiced & (muffling < _VOICE_BAR_DB) & (depth > _VOICE_BAR_DEPTH)
    # Nasal murmur: the lowest band dominates and F1 is low (unsmoothed too: a
    # short murmur keeps its low F1 only on its own hops). Where LPC finds no
    # low first resonance in it (see _UNRESOLVED_F1), a yet more dominant
    # lowest band stands in for it.
    low_f1 = ((f1 > 0) & (f1 < _MURMUR_F1)) | ((features[:, _F1] > 0) & (features[:, _F1] / scale < _MURMUR_F1))
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
            nasal_murmur[start:end], voice_bar[start:end], f2[start:end], shortest
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
            long_enough = length >= (1 if is_nasal or part_start == 0 else shortest)
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
    taken to be labial. The closure audio starts in (at_rest) is the mouth at rest, lips together, unless
    its cues place it at the tongue."""
    if cues.murmur is not None:
        return cues.murmur < _LABIAL_MURMUR_HZ
    transitions = [t for t in (cues.left, cues.right) if t is not None]
    if cues.burst is None and not transitions:
        return sure
    if not sure and cues.burst is None and min(transitions, default=0.0) < _TRANSITION_HZ / 2:
        return False  # a bright dip narrowed at the lips lowers F2 on both sides, an approximant's need not
    votes = sum(_TRANSITION_VOTE * float(np.clip(t / _TRANSITION_HZ, -1.5, 1.5)) for t in transitions)
    if cues.burst is not None:
        compact, rising = cues.burst
        if rising > _RISING_BURST_DB or compact > _COMPACT_BURST_DB:
            votes -= _BURST_VOTE
        elif rising < _FALLING_BURST_DB:
            votes += _BURST_VOTE
    return votes > (-_LABIAL_VOTES if at_rest else _LABIAL_VOTES)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of every run of True in a (n,) bool mask."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(int(start), int(end)) for start, end in zip(edges[::2], edges[1::2], strict=False)]


def _parts(nasal: np.ndarray, voice_bar: np.ndarray, f2: np.ndarray, shortest: int) -> list[tuple[int, int, bool]]:
    """(start, end, nasal) parts of one closure whose hops are nasal murmur where nasal (n,) is True.

    Stretches of murmur whose F2 (n,) jumps apart are separate nasals. A
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
        for a, b in _split(start, end, jumps, shortest)
    ]
    if not runs:
        return [(0, len(nasal), False)]
    parts = []
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
    audio: np.ndarray, sample_rate: int, quietest_s: float, end_s: float, noise: _Noise, *, must_be_noise: bool
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
    size = _short_window(sample_rate)
    low = round(quietest_s * sample_rate) - lag * step - smooth
    high = round((end_s + _RELEASE_AFTER_S) * sample_rate) + size
    if high > len(audio):
        return None
    # Before the recording is silence.
    segment = np.concatenate([np.zeros(max(1 - low, 0)), np.asarray(audio[max(low - 1, 0) : high], np.float64)])
    energy = np.convolve(np.diff(segment) ** 2, np.ones(smooth) / smooth, mode="valid")[::step]
    log = _DB * np.log10(np.maximum(energy - _OVERSUBTRACTION * noise.difference_square, 0.0) + 1e-12)
    rise = log[lag:] - log[:-lag]
    searched = rise[: len(rise) - size // step]
    if not len(searched) or searched.max() < _BURST_RISE_DB:
        return None
    onset = (int(np.argmax(searched)) + lag) * step
    window = segment[onset + 1 : onset + 1 + size]
    power = _denoised(_power(window), noise.short_spectrum) + 1e-20
    freqs = np.fft.rfftfreq(size, 1.0 / sample_rate)
    burst = power[(freqs >= _LOW_BAND[1] / 4) & (freqs < _HIGH_BAND[1])]
    if must_be_noise and np.exp(np.log(burst).mean()) / burst.mean() < _BURST_FLATNESS:
        return None
    bands = [_DB * np.log10(power[(freqs >= a) & (freqs < b)].mean()) for a, b in (_LOW_BAND, _MID_BAND, _HIGH_BAND)]
    return bands[1] - bands[0], bands[2] - bands[1]


def _transition(features: np.ndarray, f2: np.ndarray, start: int, end: int, step: int, reach: int) -> float | None:
    """How far (Hz) F2 falls toward a closure on one side (step -1: before it, 1: after it), or None
    where no voiced sound borders it: positive where F2 bends down into the closure, as at the lips.

    F2 on the first voiced hop beside the closure against F2 on the loudest
    hop of the sound there, within reach hops.
    """
    level = features[:, _LEVEL]
    floor = 0.0 if start == 0 else level[start:end].min()  # before the audio is silence
    beside = start - 1 if step < 0 else end
    edge = None
    for hop in range(beside, beside + reach * step, step):
        if not 0 <= hop < len(f2) or level[hop] <= floor + _EDGE_ABOVE:
            break
        if features[hop, _VOICING] > _EDGE_VOICING and f2[hop] > 0 and features[hop, _MUFFLING] > _MURMUR_MUFFLED_DB:
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


def acoustic_features(audio: np.ndarray, sample_rate: int, n_hops: int, hop_rate: float) -> np.ndarray:
    """(n_hops, len(_FEATURES)) per-hop features of mono float audio (N,), columns in _FEATURES order.

    The recording's steady background noise is taken out first (see
    _background_noise). level 0..1 is the RMS over the hop, in dB below the speech's loud end;
    the rest come from spectra of windows centred on each hop, taken a block
    of hops at a time so that memory stays flat however long the audio is:
    voicing, F1-F3 (Hz; 0 where LPC finds none and on unvoiced hops), the
    shares of the nasal and hiss bands, the hiss band's flatness, and the
    muffling of the middle 10 ms (dB, mid band over low band).
    """
    return _acoustic_analysis(audio, sample_rate, n_hops, hop_rate)[0]


def _acoustic_analysis(audio: np.ndarray, sample_rate: int, n_hops: int, hop_rate: float) -> tuple[np.ndarray, _Noise]:
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
    db = 10 * np.log10(np.maximum(mean_square - _OVERSUBTRACTION * noise.mean_square, 1e-12))
    loud = np.percentile(db, 95)
    level = np.clip((db - max(loud - _LEVEL_RANGE_DB, _SILENCE_DB)) / _LEVEL_RANGE_DB, 0.0, 1.0)
    if loud <= _SILENCE_DB:
        level[:] = 0.0
    spectral = [
        _spectral_features(audio, centres[start : start + _HOPS_PER_BLOCK], size, sample_rate, noise)
        for start in range(0, n_hops, _HOPS_PER_BLOCK)
    ]
    return np.column_stack([level, np.concatenate(spectral)]), noise


def _background_noise(
    audio: np.ndarray, sample_rate: int, mean_square: np.ndarray, centres: np.ndarray, hop_rate: float, size: int
) -> _Noise:
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
        return _Noise(0.0, 0.0, 0.0, 0.0)
    quiet = np.flatnonzero(steady & (highest <= _NOISE_SPREAD * highest[steady].min()))
    quiet = quiet[np.linspace(0, len(quiet) - 1, min(len(quiet), _NOISE_HOPS)).astype(int)]
    short = _windows(audio, centres[quiet], _short_window(sample_rate))
    return _Noise(
        float(np.median(mean_square[quiet])),
        float(np.median(np.mean(np.diff(short, axis=1) ** 2, axis=1))),
        np.median(_power(_windows(audio, centres[quiet], size)), axis=0),
        np.median(_power(short), axis=0),
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
class _Noise:
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
    return segment[centres[:, None] - size // 2 - low + np.arange(size)[None, :]]


def _power(windows: np.ndarray) -> np.ndarray:
    """Hann-windowed power spectra of sample windows (..., size), along the last axis."""
    return np.abs(np.fft.rfft(windows * np.hanning(windows.shape[-1]), axis=-1)) ** 2


def _short_window(sample_rate: int) -> int:
    """Samples in the short (_SHORT_WINDOW_S) window, a power of two."""
    return 1 << round(np.log2(_SHORT_WINDOW_S * sample_rate))


def _denoised(power: np.ndarray, noise: np.ndarray | float) -> np.ndarray:
    """Power spectra with the noise's taken out, keeping _SPECTRAL_FLOOR of each bin (spectral subtraction)."""
    return np.maximum(power - _OVERSUBTRACTION * noise, _SPECTRAL_FLOOR * power)


def _spectral_features(
    audio: np.ndarray, centres: np.ndarray, size: int, sample_rate: int, noise: _Noise
) -> np.ndarray:
    """(len(centres), len(_FEATURES) - 1) the spectral features (all but level) of the windows of `size`
    samples of audio (N,) centred on each centre sample, the noise taken out."""
    samples = _windows(audio, centres, size)
    power = _denoised(_power(samples), noise.spectrum)
    freqs = np.fft.rfftfreq(size, 1.0 / sample_rate)
    autocorrelation = np.fft.irfft(power, axis=1)
    lags = np.arange(*(np.round(np.array(_VOICING_LAGS_S) * sample_rate).astype(int) + [0, 1]))
    lags = lags[lags < size // 2]
    voicing = autocorrelation[:, lags].max(axis=1) / np.maximum(autocorrelation[:, 0], 1e-12)
    total = _band(power, freqs, (60, 8000)) + 1e-12
    hiss_power = power[:, (freqs >= _HISS_BAND[0]) & (freqs < min(_HISS_BAND[1], sample_rate / 2))] + 1e-12
    flatness = np.exp(np.log(hiss_power).mean(axis=1)) / hiss_power.mean(axis=1)
    # Muffling over the middle 10 ms only: a voice bar may last no longer.
    short = _short_window(sample_rate)
    middle = samples[:, size // 2 - short // 2 : size // 2 + short // 2]
    short_power = _denoised(_power(middle), noise.short_spectrum)
    short_freqs = np.fft.rfftfreq(short, 1.0 / sample_rate)
    muffling = _DB * np.log10(
        (_band(short_power, short_freqs, _MID_BAND) + 1e-12) / (_band(short_power, short_freqs, _LOW_BAND) + 1e-12)
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
    return power[:, (freqs >= band[0]) & (freqs < band[1])].sum(axis=1)


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
    """(n, p + 1) predictor polynomials (leading 1) from autocorrelations (n, p + 1), by the Levinson-Durbin recursion."""
    n, size = autocorrelation.shape
    predictor = np.zeros((n, size))
    predictor[:, 0] = 1.0
    error = autocorrelation[:, 0].copy()
    for order in range(1, size):
        reflection = -(predictor[:, :order] * autocorrelation[:, order:0:-1]).sum(axis=1) / error
        predictor[:, 1 : order + 1] += reflection[:, None] * predictor[:, order - 1 :: -1][:, :order]
        error *= 1 - reflection * reflection
    return predictor


def _voice_activity(level: np.ndarray, voicing: np.ndarray, hiss: np.ndarray, hop_s: float) -> np.ndarray:
    """(n,) float 0/1: speech where loud enough and voiced or hissing, held briefly over short gaps."""
    active = (level > _SPEECH_LEVEL) & ((voicing > _VOICED_ABOVE) | (hiss > 0.35) | (level > 0.5))
    return maximum_filter1d(active.astype(float), size=2 * round(_HANGOVER_S / hop_s / 2) + 1)
