"""Offline text-to-speech with exact phoneme and word timing, via ctypes on the libespeak-ng bundled by espeakng-
loader."""

from __future__ import annotations

import _ctypes
import ctypes
import functools
import re
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import espeakng_loader
import numpy as np

from . import neural_speech
from .errors import InferenceError

MAX_TEXT_CHARS = 5000
# espeak-ng's own bounds for espeakRATE (espeakRATE_MINIMUM / espeakRATE_MAXIMUM).
MIN_WORDS_PER_MINUTE = 80
MAX_WORDS_PER_MINUTE = 450
DEFAULT_WORDS_PER_MINUTE = 165

# espeak's best-priority voice for "en" is British and for "zh" the two Mandarin
# voices tie; these are the voices most users of those codes expect. Both
# Mandarin voices read Chinese characters alike; "cmn" reads Latin as English.
_PREFERRED_VOICES = {"en": "en-us", "zh": "cmn"}
# The gendered variants in espeak-ng-data/voices/!v; the other ~90 variants are
# novelty voices (robots, "Demonic", ...) unfit for a portrait.
_VARIANTS = ("f1", "f2", "f3", "f4", "f5", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8")
# espeak marks stress on the vowel's IPA; downstream viseme lookups want bare phones.
_STRESS_MARKS = str.maketrans("", "", "ˈˌ")
# Phonemes without an IPA name in espeak's tables (Mandarin, Korean, French
# schwa) come out as ASCII mnemonics: "X." is retroflex, a trailing "h"
# aspiration and a trailing "-" a reduced or tense variant.
_RETROFLEX = re.compile(r"([tdnszlri])\.")
_RETROFLEX_IPA = {"t": "ʈ", "d": "ɖ", "n": "ɳ", "s": "ʂ", "z": "ʐ", "l": "ɭ", "r": "ɻ", "i": "ɻ̩"}
_ASPIRATED = re.compile(r"(?<=[ptkqsʂɕ])h$")
# Stop closures: oral stops (affricates start with one), and what counts as
# their silence: 5 ms hops 50 dB below the speech's loud parts, ending at most
# _CLOSURE_GAP_HOPS hops before the stop's event.
_ORAL_STOPS = frozenset("pbtdʈɖcɟkgɡqɢ")
_SILENCE_HOP_S, _SILENCE_DB, _CLOSURE_GAP_HOPS, _MIN_KEPT_S = 0.005, -50.0, 2, 0.02

# speak_lib.h constants.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_PHONEME_IPA = 0x0002
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE = 1
_EE_OK = 0
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_PHONEME = 7


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """espeak_EVENT (40 bytes on LP64)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based, in characters (code points) of the text
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # milliseconds
        ("sample", ctypes.c_int),  # samples since the start of the utterance
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _Voice(ctypes.Structure):
    """espeak_VOICE; languages is a raw pointer because it packs (priority byte, NUL-terminated tag) pairs."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Speech:
    """Synthesized speech; phoneme names are IPA without stress marks, times in seconds of audio."""

    audio: np.ndarray  # mono float32 in [-1, 1]
    sample_rate: int
    phonemes: tuple[tuple[float, float, str], ...]  # (start_s, end_s, IPA); pauses are gaps
    words: tuple[tuple[float, float, str], ...]  # (start_s, end_s, word as written, punctuation kept)


# libespeak-ng keeps its synthesizer in process globals and was never built for
# two instances at once: every use, each on its own copy, holds this lock.
_lock = threading.Lock()


@contextmanager
def _espeak() -> Iterator[tuple[ctypes.CDLL, int]]:
    """A freshly loaded, initialized libespeak-ng and its sample rate, unloaded on exit.

    The waveform generator keeps function-static state (the pitch-flutter phase)
    that survives espeak_Terminate and that no API resets, so one long-lived
    instance speaks the same text slightly differently on every call. A private
    copy of the library, loaded per call and unloaded after, starts from the same
    state each time, for a few milliseconds of loading per call.
    """
    with _lock, tempfile.TemporaryDirectory(prefix="candor-espeak-") as tmp:
        source = Path(espeakng_loader.get_library_path())
        private = Path(tmp) / source.name
        # A copy has its own inode, so the dynamic loader never hands back an
        # instance that something else in the process has already loaded.
        shutil.copyfile(source, private)
        lib = ctypes.CDLL(str(private))
        try:
            _declare(lib)
            sample_rate = lib.espeak_Initialize(
                _AUDIO_OUTPUT_SYNCHRONOUS,
                0,
                espeakng_loader.get_data_path().encode(),
                _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_PHONEME_IPA,
            )
            if sample_rate <= 0:
                raise RuntimeError(f"espeak-ng failed to initialize from {espeakng_loader.get_data_path()}")
            # Voices with breath (the female variants) draw their noise from a generator that
            # espeak_Initialize seeds from the clock; a fixed seed makes every call sound the same.
            lib.espeak_ng_SetRandSeed(0)
            try:
                yield lib, sample_rate
            finally:
                lib.espeak_Terminate()
        finally:
            _ctypes.dlclose(lib._handle)


def _declare(lib: ctypes.CDLL) -> None:
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    lib.espeak_ng_SetRandSeed.restype = None
    lib.espeak_Terminate.argtypes = []
    lib.espeak_Terminate.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_ListVoices.argtypes = [ctypes.POINTER(_Voice)]
    lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
        ctypes.c_uint, ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
    ]  # fmt: skip
    lib.espeak_Synth.restype = ctypes.c_int


@dataclass(frozen=True)
class VoiceProfile:
    """How a voice presents itself: its voice file's title ("English (West Midlands)": language and accent) and
    gender ("female", "male", or "" where the voice data does not say)."""

    title: str
    gender: str


@dataclass(frozen=True)
class _ListedVoice:
    tags: tuple[tuple[int, str], ...]  # (priority, language tag)
    title: str
    gender: str


# espeak_VOICE.gender
_GENDERS = {1: "male", 2: "female"}


def _list_voices(lib: ctypes.CDLL) -> dict[str, _ListedVoice]:
    voices = {}
    listed = lib.espeak_ListVoices(None)
    i = 0
    while listed[i]:
        voice = listed[i].contents
        tags, at = [], voice.languages
        while priority := ctypes.c_ubyte.from_address(at).value:
            tag = ctypes.string_at(at + 1)
            tags.append((priority, tag.decode()))
            at += len(tag) + 2
        # espeak_SetVoiceByName matches the voice file's name, case-insensitively.
        voices[Path(voice.identifier.decode()).name.lower()] = _ListedVoice(
            tuple(tags), voice.name.decode().strip(), _GENDERS.get(voice.gender, "")
        )
        i += 1
    return voices


@functools.cache
def _listed() -> dict[str, _ListedVoice]:
    with _espeak() as (lib, _):
        return _list_voices(lib)


@functools.cache
def _catalogue() -> dict[str, tuple[tuple[int, str], ...]]:
    """Voice name -> ((priority, language tag), ...) for every voice in the bundled data."""
    return {name: voice.tags for name, voice in _listed().items()}


@functools.cache
def _variant_gender(variant: str) -> str:
    """The gender a voice variant file ("!v/f3") declares on its "gender" line, or ""."""
    path = Path(espeakng_loader.get_data_path()) / "voices" / "!v" / variant
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "gender":
            return words[1] if words[1] in ("female", "male") else ""
    return ""


def voice_profile(voice: str) -> VoiceProfile:
    """The title and gender of a voice that voices() lists ("en-us+f3": English (America), female)."""
    if voice == neural_speech.VOICE_NAME:
        return VoiceProfile(neural_speech.VOICE_TITLE, neural_speech.VOICE_GENDER)
    base, _, variant = voice.partition("+")
    listed = _listed().get(base)
    if listed is None:
        raise InferenceError("unknown_voice", f"Voice {voice!r} is not one of the synthesizer's voices.")
    if not variant:
        return VoiceProfile(listed.title, listed.gender)
    if variant not in _VARIANTS:
        raise InferenceError("unknown_voice", f"Voice variant {variant!r} is not one of {', '.join(_VARIANTS)}.")
    return VoiceProfile(listed.title, _variant_gender(variant))


def languages() -> dict[str, str]:
    """Supported language code (e.g. "en", "zh", "hi") -> the espeak voice used by default."""
    best: dict[str, tuple[int, str]] = {}
    for name, tags in _catalogue().items():
        for priority, tag in tags:
            if "-" not in tag and (tag not in best or (priority, name) < best[tag]):
                best[tag] = (priority, name)
    mapping = {code: name for code, (_, name) in best.items()}
    mapping.update({code: name for code, name in _PREFERRED_VOICES.items() if code in mapping})
    return dict(sorted(mapping.items()))


def voices(language: str) -> list[str]:
    """Voices for a language code: the default first, then regional voices, then gendered variants of the default.

    For English the natural voice (neural_speech) comes first; espeak's follow.
    """
    default = _default_voice(language)
    natural = [neural_speech.VOICE_NAME] if language == neural_speech.LANGUAGE else []
    regional = sorted(
        name
        for name, tags in _catalogue().items()
        if name != default and any(tag == language or tag.startswith(language + "-") for _, tag in tags)
    )
    variants_dir = Path(espeakng_loader.get_data_path()) / "voices" / "!v"
    variants = [f"{default}+{v}" for v in _VARIANTS if (variants_dir / v).is_file()]
    return [*natural, default, *regional, *variants]


def espeak_voice(language: str) -> str:
    """espeak's default voice for a language: what the checks calibrated on espeak's reading (a text's expected
    length, a word's pronunciation) keep using whatever the default voice is."""
    return _default_voice(language)


def _default_voice(language: str) -> str:
    supported = languages()
    if language not in supported:
        examples = ", ".join(code for code in ("en", "de", "fr", "es", "hi", "zh", "ja", "ar") if code in supported)
        raise InferenceError(
            "unknown_language",
            f"Language {language!r} is not supported; use a code such as {examples} ({len(supported)} in all).",
        )
    return supported[language]


def synthesize(
    text: str, language: str, *, voice: str | None = None, words_per_minute: int = DEFAULT_WORDS_PER_MINUTE
) -> Speech:
    """Speak text in a language (code from languages()) with per-phoneme and per-word timings."""
    if not text.strip():
        raise InferenceError("empty_text", "There is no text to speak.")
    if len(text) > MAX_TEXT_CHARS:
        raise InferenceError(
            "text_too_long", f"The text has {len(text)} characters; at most {MAX_TEXT_CHARS} can be spoken at once."
        )
    if not MIN_WORDS_PER_MINUTE <= words_per_minute <= MAX_WORDS_PER_MINUTE:
        raise InferenceError(
            "invalid_rate",
            f"Speaking rate {words_per_minute} is outside "
            f"{MIN_WORDS_PER_MINUTE}-{MAX_WORDS_PER_MINUTE} words per minute.",
        )
    offered = voices(language)
    if voice is None:
        voice = offered[0]
    elif voice not in offered:
        raise InferenceError(
            "unknown_voice", f"Voice {voice!r} is not available for {language!r}; choose one of {', '.join(offered)}."
        )
    if voice == neural_speech.VOICE_NAME:
        return _natural_synthesize(text, words_per_minute)
    # A NUL would end the C string early; a space keeps every character position.
    encoded = text.replace("\0", " ").encode("utf-8")

    chunks: list[bytes] = []
    events: list[tuple[int, int, int, str]] = []  # (type, sample, text_position, phoneme name)

    def collect(wav: Any, n_samples: int, event_list: Any) -> int:
        if n_samples > 0:
            chunks.append(ctypes.string_at(wav, n_samples * 2))
        i = 0
        while event_list[i].type != _EVENT_LIST_TERMINATED:
            ev = event_list[i]
            name = ""
            if ev.type == _EVENT_PHONEME:
                # A char[8]: long IPA strings are cut mid-character and may lack a NUL.
                name = bytes(ev.id.string).split(b"\0", 1)[0].decode("utf-8", "ignore")
            events.append((ev.type, ev.sample, ev.text_position, name))
            i += 1
        return 0

    callback = _SynthCallback(collect)
    with _espeak() as (lib, sample_rate):
        lib.espeak_SetSynthCallback(callback)
        if lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
            raise RuntimeError(f"espeak-ng could not load its voice {voice!r}")
        lib.espeak_SetParameter(_RATE, words_per_minute, 0)
        status = lib.espeak_Synth(encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != _EE_OK:
            raise RuntimeError(f"espeak-ng synthesis failed with status {status}")

    pcm = b"".join(chunks)
    audio = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
    phonemes, words = _timings(text, events, len(audio), sample_rate)
    phonemes, words = _stop_closures_retimed(phonemes, words, audio, sample_rate)
    if not phonemes:
        raise InferenceError("empty_text", f"The text has nothing that can be spoken in {language!r}.")
    return Speech(audio=audio, sample_rate=sample_rate, phonemes=phonemes, words=words)


def _natural_synthesize(text: str, words_per_minute: int) -> Speech:
    """The natural voice's reading with its own phoneme timing; written words are given the spoken words the voice
    makes of them (a number or a price becomes several)."""
    spoken = neural_speech.read_aloud(text.replace("\0", " "), pace=words_per_minute / DEFAULT_WORDS_PER_MINUTE)
    phonemes, groups = neural_speech.phoneme_spans(spoken)
    if not phonemes:
        raise InferenceError("empty_text", "The text has nothing that can be spoken in 'en'.")
    counted = neural_speech.spoken_words_per_written(text)
    if sum(count for _, count in counted) != len(groups):
        # The voice read some words differently alone than in the sentence: give each written word one spoken word
        # at a time, and what is left over to the last one.
        counted = [(written, 1) for written, _ in counted]
    words: list[tuple[float, float, str]] = []
    next_group = 0
    for position, (written, count) in enumerate(counted):
        taken = groups[next_group : next_group + count] if position < len(counted) - 1 else groups[next_group:]
        next_group += count
        sounds = [index for group in taken for index in group]
        if sounds:
            words.append((phonemes[sounds[0]][0], phonemes[sounds[-1]][1], written))
        elif words:
            first, last, previous = words[-1]
            words[-1] = (first, last, f"{previous} {written}")
    return Speech(audio=spoken.audio, sample_rate=spoken.sample_rate, phonemes=phonemes, words=tuple(words))


def _stop_closures_retimed(
    phonemes: tuple[tuple[float, float, str], ...],
    words: tuple[tuple[float, float, str], ...],
    audio: np.ndarray,
    sample_rate: int,
) -> tuple[tuple[tuple[float, float, str], ...], tuple[tuple[float, float, str], ...]]:
    """The phonemes and words with every oral stop starting where its closure's silence starts in the audio (N,).

    espeak's phoneme event for a stop comes at its release burst: the silent
    closure before it (30-50 ms, 120 ms for a double consonant) is counted in
    the sound before, so a vowel would seem to last into the silence. A
    silence that runs up to a stop (ending at most _CLOSURE_GAP_HOPS hops
    before its event) is given to the stop, leaving the sound before it at
    least _MIN_KEPT_S; a word that starts or ends at the moved boundary moves with it.
    """
    hop = max(round(_SILENCE_HOP_S * sample_rate), 1)
    hop_s = hop / sample_rate
    samples = np.asarray(audio, np.float64)
    power = np.add.reduceat(samples * samples, np.arange(0, len(samples), hop)) / hop if len(samples) else np.zeros(0)
    if not power.size or not power.any():
        return phonemes, words
    silent = power < np.percentile(power, 95) * 10 ** (_SILENCE_DB / 10)
    retimed: list[list[Any]] = [list(phoneme) for phoneme in phonemes]
    moved: dict[float, float] = {}  # boundary as espeak reported it -> where the closure starts
    for before, stop in zip(retimed, retimed[1:], strict=False):
        if _first_letter(stop[2]) not in _ORAL_STOPS or abs(before[1] - stop[0]) > 1e-9:
            continue
        hop_at = min(round(stop[0] / hop_s), len(silent))
        end = next((k for k in range(hop_at, max(hop_at - _CLOSURE_GAP_HOPS, 0) - 1, -1) if k and silent[k - 1]), None)
        if end is None:
            continue
        start = end
        while start > 0 and silent[start - 1] and (start - 1) * hop_s >= before[0] + _MIN_KEPT_S:
            start -= 1
        if start < end:
            boundary = start * hop_s
            moved[stop[0]] = boundary
            before[1] = stop[0] = boundary
    return (
        tuple((start, end, ipa) for start, end, ipa in retimed),
        tuple((moved.get(start, start), moved.get(end, end), word) for start, end, word in words),
    )


def _first_letter(ipa: str) -> str:
    return next((char for char in unicodedata.normalize("NFD", ipa) if char.isalpha()), "")


def _ipa(name: str) -> str:
    ipa = _RETROFLEX.sub(lambda m: _RETROFLEX_IPA[m.group(1)], name.translate(_STRESS_MARKS).rstrip("-"))
    return _ASPIRATED.sub("ʰ", ipa)


def _starts_written_word(text: str, offset: int) -> bool:
    """Whether a spoken word espeak places at this character offset also starts a written word.

    espeak speaks "1990" or "$5.50" as several words placed inside the written
    one, and expansions such as an emoji's name as words placed on the space
    after it; those stay with the written word they came from.
    """
    if offset >= len(text) or text[offset].isspace():
        return False
    before, after = text[offset - 1], text[offset]
    return before.isspace() or _is_letter(before) or _is_letter(after)


def _is_letter(char: str) -> bool:
    return unicodedata.category(char)[0] in "LM"


def _timings(
    text: str, events: list[tuple[int, int, int, str]], n_samples: int, sample_rate: int
) -> tuple[tuple[tuple[float, float, str], ...], tuple[tuple[float, float, str], ...]]:
    """Phoneme and word spans from the event stream.

    A phoneme lasts until the next phoneme event (pauses included: espeak emits
    them as nameless phonemes); a word spans its phonemes. Word events carry
    only their start in the text, so a word's text runs to the next word's start,
    which keeps punctuation and covers scripts without spaces.
    """
    # (sample, name, word index) for every phoneme event, pauses included.
    marks: list[tuple[int, str, int]] = []
    word_starts: list[int] = []  # character offset of each word group in text
    for kind, sample, text_position, name in events:
        if kind == _EVENT_WORD:
            offset = max(text_position - 1, 0)
            if not word_starts or (offset > word_starts[-1] and _starts_written_word(text, offset)):
                word_starts.append(offset)
        elif kind == _EVENT_PHONEME:
            marks.append((sample, name, max(len(word_starts) - 1, 0)))

    phonemes = []
    per_word: dict[int, list[tuple[float, float]]] = {}
    for i, (sample, name, word) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else n_samples
        ipa = _ipa(name)
        # Nameless phonemes are pauses; "(en)"-style names mark a switch of language.
        if not ipa or ipa.startswith("(") or end <= sample:
            continue
        span = (sample / sample_rate, min(end, n_samples) / sample_rate)
        phonemes.append((*span, ipa))
        per_word.setdefault(word, []).append(span)

    if word_starts:
        word_starts[0] = 0  # leading quotes or brackets belong to the first word
    bounds = [*word_starts, len(text)]
    words: list[tuple[float, float, str]] = []
    for w in range(len(word_starts)):
        written = text[bounds[w] : bounds[w + 1]].strip()
        spans = per_word.get(w)
        if spans:
            words.append((spans[0][0], spans[-1][1], written))
        elif words and written:
            # Tokens espeak skips (a lone dash, a bullet) join the word before them.
            first, last, previous = words[-1]
            words[-1] = (first, last, f"{previous} {written}")
    return tuple(phonemes), tuple(words)
