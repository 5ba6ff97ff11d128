"""What a transcript says about itself: its written language (detected offline) and how long it takes to say.

The language comes from lingua (`lingua-language-detector`, whose n-gram models ship in the wheel, so nothing is
fetched at run time) in two passes: its low-accuracy mode over every language both it and the synthesizer know
(trigram models, about 95 MB, loaded once on first use) names the three likeliest, then its high-accuracy mode
decides among those and the language the text is said to be in (their models, about 14 MB a language, are loaded
for the call and let go after it; about 1.2 s a check). The first pass alone is sure of wrong answers now and then
(a French sentence read as Tswana at 0.9998); high accuracy over all of them would keep about 860 MB loaded
(`python -m benchmarks.transcripts --all-high-accuracy`).

How long a text takes to say is measured on the synthesizer's own reading of it, with the same speech-window detector
that measures a recording, so both sides are counted alike.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from . import speech
from .acoustics import SPEECH_WINDOW_S, speech_windows

# Lingua's confidence (among the shortlist) a text needs to count as written in a language: more likely than all the
# others together. Of Asterisk's prompts of 20+ characters detected right, English, French, Italian and Russian scored
# at least 0.66, Spanish (near Portuguese and Catalan) at least 0.53 (benchmarks/transcripts.py).
MIN_CONFIDENCE = 0.5
# A recording's speech seconds over the synthesizer's for its transcript: Asterisk's speakers, each reading their
# prompts, ranged 0.76-2.04 (English 0.94-1.31, Spanish 1.01-2.04, French 0.76-1.49, Italian 0.80-1.05, Russian
# 0.97-1.40), so these bounds leave room for slower and quicker speakers.
SPEECH_RATIO_BOUNDS = (0.5, 2.5)
# Synthesizer codes whose writing lingua knows under another code: Mandarin and Cantonese are written in Chinese
# characters, which is all a text can show.
_WRITTEN_AS = {"cmn": "zh", "yue": "zh"}


@dataclass(frozen=True)
class LanguageGuess:
    """The likeliest language of a text (a synthesizer code) and lingua's confidence in it, 0..1 over the
    detectable languages (None and 0.0 when the text has no letters lingua reads).
    """

    language: str | None
    confidence: float


def _written(code: str) -> str:
    return _WRITTEN_AS.get(code, code)


@functools.cache
def _lingua_languages() -> dict[str, Language]:
    """Written-language code -> lingua Language, for the codes the synthesizer offers."""
    written = {_written(code) for code in speech.languages()}
    return {
        language.iso_code_639_1.name.lower(): language
        for language in Language.all()
        if language.iso_code_639_1.name.lower() in written
    }


@functools.cache
def _shortlister() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*_lingua_languages().values()).with_low_accuracy_mode().build()


def detectable(language: str) -> bool:
    """Whether text_language can name this synthesizer language."""
    return _written(language) in _lingua_languages()


def text_language(text: str, *, expected: str | None = None) -> LanguageGuess:
    """The likeliest written language of `text` among the detectable ones, and lingua's confidence in it (among the
    three likeliest and the `expected` synthesizer language, when that is detectable).
    """
    shortlist = [value.language for value in _shortlister().compute_language_confidence_values(text)[:3]]
    if expected is not None and detectable(expected):
        shortlist.append(_lingua_languages()[_written(expected)])
    candidates = set(shortlist)
    if len(candidates) < 2:  # lingua needs two languages to choose from; the shortlist had none it could read
        return LanguageGuess(language=None, confidence=0.0)
    decider = LanguageDetectorBuilder.from_languages(*candidates).build()
    try:
        values = decider.compute_language_confidence_values(text)
    finally:
        # lingua's stub leaves this method unannotated; it returns None.
        decider.unload_language_models()  # type: ignore[no-untyped-call]
    if not values or values[0].value <= 0:
        return LanguageGuess(language=None, confidence=0.0)
    return LanguageGuess(language=values[0].language.iso_code_639_1.name.lower(), confidence=values[0].value)


def same_writing(language: str, detected: str | None) -> bool:
    """Whether text detected as `detected` is written as the synthesizer language `language` is."""
    return detected is not None and _written(language) == detected


def speech_seconds(audio: np.ndarray, sample_rate: int) -> float:
    """Seconds of mono audio (N,) that hold speech (acoustics.speech_windows), pauses left out."""
    return float(speech_windows(audio, sample_rate).sum()) * SPEECH_WINDOW_S


def spoken_seconds(text: str, language: str) -> float:
    """Seconds of speech the synthesizer takes to say `text` in `language` at its default pace."""
    spoken = speech.synthesize(text, language)
    return speech_seconds(spoken.audio, spoken.sample_rate)
