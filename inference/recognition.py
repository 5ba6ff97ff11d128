"""Offline English speech recognition with pocketsphinx's bundled en-us model: phones aligned to a transcript, spoken
digits."""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pocketsphinx

from . import media, speech
from .errors import InferenceError
from .motion import Phoneme

SAMPLE_RATE = 16_000
# pocketsphinx analyses 25.6 ms windows every 10 ms and stamps each frame with
# its window's start; a phone's boundaries sit at the windows' centres.
_FRAME_S = 0.01
_WINDOW_CENTRE_S = 0.0128
# Only the speech is decoded: long leading and trailing silence makes the
# recognizer insert words, and digital silence (exact zeros) throws its
# cepstral mean off so far that nothing aligns. Speech is what lies within
# _SPEECH_RANGE_DB of the recording's loud end, kept with _MARGIN_S either side
# and padded by as much again; a faint noise floor fills the true zeros.
_LEVEL_HOP_S = 0.02
_SILENT_DB = -70.0  # dBFS at the recording's loud end: nothing to decode
_SPEECH_RANGE_DB = 35.0
_MARGIN_S = 0.1
_NOISE_FLOOR_DB = -50.0
# An alignment that leaves more than this share of the loud speech (within
# _LOUD_RANGE_DB of its loud end) outside every phone is of a transcript that
# misses words: the synthesizer's sentences leave under 3%, half a transcript 45-55%.
_LOUD_RANGE_DB = 20.0
_MAX_UNALIGNED = 0.1
# Spoken digits as the dictionary spells them; "oh" is a common way to read 0.
_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_ZERO_ALTERNATIVE = "oh"
# The expected digits pass when they fit the speech at most this much worse
# (log units per 10 ms) than the best digit string.
_DIGITS_MARGIN = 2.0

# The en-us model's phones (CMU ARPAbet, no stress) in the IPA the synthesizer
# writes for General American, so aligned phones drive the same visemes.
_ARPABET_IPA = {
    "AA": "ɑː", "AE": "æ", "AH": "ə", "AO": "ɔː", "AW": "aʊ", "AY": "aɪ", "B": "b", "CH": "tʃ", "D": "d",
    "DH": "ð", "EH": "ɛ", "ER": "ɚ", "EY": "eɪ", "F": "f", "G": "ɡ", "HH": "h", "IH": "ɪ", "IY": "iː",
    "JH": "dʒ", "K": "k", "L": "l", "M": "m", "N": "n", "NG": "ŋ", "OW": "oʊ", "OY": "ɔɪ", "P": "p",
    "R": "ɹ", "S": "s", "SH": "ʃ", "T": "t", "TH": "θ", "UH": "ʊ", "UW": "uː", "V": "v", "W": "w",
    "Y": "j", "Z": "z", "ZH": "ʒ",
}  # fmt: skip
# The synthesizer's IPA back to ARPAbet, for words the dictionary lacks (names,
# numbers): the longest spelling that matches is taken first.
_IPA_ARPABET = {
    **{ipa.rstrip("ː"): arpabet for arpabet, ipa in _ARPABET_IPA.items()},
    "oː": "OW", "ɜ": "ER", "ʌ": "AH", "ɐ": "AH", "ᵻ": "IH", "i": "IY", "ɾ": "D", "r": "R",
    "ɡ": "G", "g": "G", "e": "EH", "o": "OW", "a": "AA", "ɒ": "AA", "x": "HH", "ɫ": "L", "ɬ": "L", "ç": "HH",
}  # fmt: skip
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")

# The decoders serve every caller one at a time: pocketsphinx's search state is not shareable.
_lock = threading.Lock()


@functools.cache
def _decoder() -> pocketsphinx.Decoder:
    """The en-us decoder (model, dictionary; no language model), loaded on first use."""
    # Best-path rescoring moves word boundaries so that the phone-level second
    # pass cannot follow them ("impossible duration") on some sentences.
    return pocketsphinx.Decoder(samprate=SAMPLE_RATE, lm=None, bestpath=False, loglevel="FATAL")


def decoder_load() -> None:
    """Load the en-us decoder now (once per process), e.g. before forking analysis children that then share it instead
    of each loading its own (0.1 s of processor time).
    """
    _decoder()


@contextmanager
def _decoding() -> Iterator[pocketsphinx.Decoder]:
    with _lock:
        yield _decoder()


@dataclass(frozen=True)
class _Speech:
    """The part of a recording the decoder is given."""

    pcm: bytes  # 16 kHz, 16-bit little-endian mono
    offset: float  # time (s) in the recording of the first sample
    loud: np.ndarray  # (n,) times (s) in the recording of the loud 10 ms hops


def _prepared(audio: np.ndarray, sample_rate: int) -> _Speech | None:
    """The speech in mono float audio (N,) as the decoder takes it; None when silent."""
    samples = np.asarray(media.audio_resample(np.asarray(audio, np.float32), sample_rate, SAMPLE_RATE), np.float64)
    hop = int(_LEVEL_HOP_S * SAMPLE_RATE)
    count = samples.size // hop
    if count == 0:
        return None
    power = np.mean(samples[: count * hop].reshape(count, hop) ** 2, axis=1)
    db = 10 * np.log10(np.maximum(power, 1e-20))
    loud = float(np.percentile(db, 95))
    if loud < _SILENT_DB:
        return None
    speaking = np.flatnonzero(db > loud - _SPEECH_RANGE_DB)
    margin = int(_MARGIN_S * SAMPLE_RATE)
    first = max(int(speaking[0]) * hop - margin, 0)
    last = min((int(speaking[-1]) + 1) * hop + margin, samples.size)
    padded = np.pad(samples[first:last], margin)
    # Seeded: the same audio always decodes the same way.
    padded += np.random.default_rng(0).normal(0.0, 10 ** ((loud + _NOISE_FLOOR_DB) / 20), padded.size)
    pcm = (np.clip(padded, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    fine = int(_FRAME_S * SAMPLE_RATE)
    fine_db = 10 * np.log10(
        np.maximum(np.mean(samples[: samples.size // fine * fine].reshape(-1, fine) ** 2, axis=1), 1e-20)
    )
    loud_times = (np.flatnonzero(fine_db > loud - _LOUD_RANGE_DB) + 0.5) * _FRAME_S
    return _Speech(pcm=pcm, offset=(first - margin) / SAMPLE_RATE, loud=loud_times)


def transcript_words(transcript: str) -> list[str]:
    """The words of an English transcript as the decoder spells them: lower case, apostrophes kept, punctuation
    dropped."""
    text = unicodedata.normalize("NFKC", transcript).replace("\u2019", "'").lower()
    return _WORD.findall(text)


def _pronounced(decoder: pocketsphinx.Decoder, word: str) -> bool:
    """Whether the decoder can say the word, adding it from the synthesizer's pronunciation when its dictionary lacks
    it."""
    if decoder.lookup_word(word) is not None:
        return True
    try:
        spoken = speech.synthesize(word, "en", voice=speech.espeak_voice("en"))
    except InferenceError:
        return False
    phones = [arpabet for _, _, ipa in spoken.phonemes for arpabet in _arpabet(ipa)]
    if not phones:
        return False
    # It stays in the dictionary: the next transcript that has it finds it there.
    decoder.add_word(word, " ".join(phones), True)
    return True


def _arpabet(ipa: str) -> list[str]:
    """ARPAbet phones of one of the synthesizer's IPA phonemes ('ɔːɹ' -> ['AO', 'R']); unknown letters are skipped."""
    letters = "".join(char for char in unicodedata.normalize("NFD", ipa) if char not in "ːˑ\u0329\u0303")
    phones, at = [], 0
    while at < len(letters):
        for length in (3, 2, 1):
            arpabet = _IPA_ARPABET.get(letters[at : at + length])
            if arpabet:
                phones.append(arpabet)
                at += length
                break
        else:
            at += 1
    return phones


def aligned_phonemes(audio: np.ndarray, sample_rate: int, transcript: str) -> tuple[Phoneme, ...] | None:
    """(start s, end s, IPA) of every phone of English speech in mono float audio (N,), aligned to its transcript.

    Times are in seconds of the given audio; pauses are gaps, as in the
    synthesizer's timings. Words the dictionary lacks take the synthesizer's
    pronunciation. None when the speech cannot be aligned to the transcript
    (another text, another language, no speech): the caller then reads the
    mouth from the audio alone.
    """
    prepared = _prepared(audio, sample_rate)
    if prepared is None:
        return None
    with _decoding() as decoder:
        words = [word for word in transcript_words(transcript) if _pronounced(decoder, word)]
        if not words:
            return None
        try:
            decoder.set_align_text(" ".join(words))
            _decode(decoder, prepared.pcm)
            if decoder.hyp() is None:
                return None
            # The first pass fixes the words' boundaries; the second finds the phones' inside them.
            decoder.set_alignment()
            _decode(decoder, prepared.pcm)
            alignment = decoder.get_alignment()
        except RuntimeError:
            return None
        if alignment is None:
            return None
        phones = [(entry.start, entry.duration, entry.name) for entry in alignment.phones()]
    shift = prepared.offset + _WINDOW_CENTRE_S
    aligned = tuple(
        (max(start * _FRAME_S + shift, 0.0), (start + duration) * _FRAME_S + shift, _ARPABET_IPA[name])
        for start, duration, name in phones
        if name in _ARPABET_IPA
    )
    if not aligned:
        return None
    starts, ends = np.array([[start, end] for start, end, _ in aligned]).T
    index = np.searchsorted(starts, prepared.loud, side="right") - 1
    unaligned = (index < 0) | (prepared.loud >= ends[np.maximum(index, 0)])
    return aligned if unaligned.mean() <= _MAX_UNALIGNED else None


@dataclass(frozen=True)
class DigitsCheck:
    """Whether English speech reads the digits expected, and what the recognizer heard instead."""

    expected: str  # "4 7 2"
    heard: str  # the digit string that fits the speech best, "" when nothing was heard
    margin: float  # how much better (log score per 10 ms) `heard` fits than `expected`: 0 when they are the same
    passed: bool


def digits_check(audio: np.ndarray, sample_rate: int, digits: str) -> DigitsCheck:
    """Check that mono float audio (N,) reads `digits` ("4 7 2") aloud in English.

    A grammar of exactly that many digits (pauses and noise allowed between
    them) finds the digit string that fits the speech best. When it is not
    the one expected, both strings are force-aligned to the speech and the
    expected one still passes if it fits nearly as well: the recognizer
    confuses similar digits in unfamiliar voices (nine/one, two/three), while
    other digits or other words fit clearly worse.
    """
    expected = [int(char) for char in digits if char.isdigit()]
    shown = " ".join(map(str, expected))
    prepared = _prepared(audio, sample_rate)
    if prepared is None or not expected:
        return DigitsCheck(shown, "", float("inf"), False)
    with _decoding() as decoder:
        heard_words = _digits_decoded(decoder, prepared.pcm, len(expected))
        if not heard_words:
            return DigitsCheck(shown, "", float("inf"), False)
        heard = [_digit_value(word) for word in heard_words]
        if heard == expected:
            return DigitsCheck(shown, shown, 0.0, True)
        # Where the digits agree the expected string keeps the heard word ("oh" for 0).
        expected_words = [
            word if value == want else _DIGIT_WORDS[want]
            for word, value, want in zip(heard_words, heard, expected, strict=False)
        ]
        frames = len(prepared.pcm) / 2 / SAMPLE_RATE / _FRAME_S
        margin = (
            _aligned_score(decoder, prepared.pcm, heard_words) - _aligned_score(decoder, prepared.pcm, expected_words)
        ) / frames
    return DigitsCheck(shown, " ".join(map(str, heard)), margin, margin <= _DIGITS_MARGIN)


def _digits_decoded(decoder: pocketsphinx.Decoder, pcm: bytes, count: int) -> list[str]:
    """The words of the best string of exactly `count` digits in the speech; [] when none fits."""
    name = f"digits-{count}"
    try:
        decoder.activate_search(name)
    except KeyError:
        decoder.add_jsgf_string(name, _digits_grammar(count))
        decoder.activate_search(name)
    try:
        _decode(decoder, pcm)
    except RuntimeError:
        return []
    hypothesis = decoder.hyp()
    return hypothesis.hypstr.split() if hypothesis is not None else []


def _digit_value(word: str) -> int:
    return 0 if word == _ZERO_ALTERNATIVE else _DIGIT_WORDS.index(word)


def _aligned_score(decoder: pocketsphinx.Decoder, pcm: bytes, words: list[str]) -> float:
    """Log score (pocketsphinx's log units) of the speech force-aligned to these words; -inf when they cannot be
    aligned."""
    decoder.set_align_text(" ".join(words))
    try:
        _decode(decoder, pcm)
    except RuntimeError:
        return float("-inf")
    hypothesis = decoder.hyp()
    return float(decoder.get_logmath().log(hypothesis.score)) if hypothesis is not None else float("-inf")


def _digits_grammar(count: int) -> str:
    """JSGF for exactly `count` spoken digits."""
    alternatives = " | ".join((*_DIGIT_WORDS, _ZERO_ALTERNATIVE))
    return (
        f"#JSGF V1.0;\ngrammar digits;\n<digit> = {alternatives};\npublic <digits> = {' '.join(['<digit>'] * count)};\n"
    )


def _decode(decoder: pocketsphinx.Decoder, pcm: bytes) -> None:
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
