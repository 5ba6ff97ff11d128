"""Language codes: the one check every scope, render and voice request goes through, and their names."""

from __future__ import annotations

import functools

import langcodes

from core.errors import ApplicationError, ErrorCode
from inference import speech

# A consent scope that covers every language.
ANY_LANGUAGE = "any"


def language_check(language: str) -> str:
    """A language the speech synthesizer knows, or UNKNOWN_LANGUAGE naming the supported ones."""
    supported = speech.languages()
    if language not in supported:
        raise ApplicationError(
            ErrorCode.UNKNOWN_LANGUAGE, f"unknown language '{language}'; supported: {sorted(supported)}"
        )
    return language


def languages_normalize(languages: list[str]) -> list[str]:
    """Sorted, lower-cased, known codes; ["any"] when the list is empty or names "any"."""
    codes = sorted({code.strip().lower() for code in languages if code.strip()})
    if not codes or ANY_LANGUAGE in codes:
        return [ANY_LANGUAGE]
    supported = speech.languages()
    unknown = [code for code in codes if code not in supported]
    if unknown:
        raise ApplicationError(
            ErrorCode.UNKNOWN_LANGUAGE, f"unknown language codes {unknown}; supported: {sorted(supported)}"
        )
    return codes


@functools.cache
def language_name(code: str) -> str:
    """A language code's English name: "de" -> "German", "cmn" -> "Mandarin Chinese".

    Names come from CLDR and the IANA subtag registry (langcodes with language_data); a code they do not name (a
    constructed language such as espeak's "piqd") takes the title of the synthesizer's voice for it ("Klingon"), and
    any other the code itself.
    """
    language = langcodes.Language.get(code)
    if language.has_name_data():
        return str(language.display_name("en"))
    voice = speech.languages().get(code)
    return speech.voice_profile(voice).title if voice else code


def language_autonym(code: str) -> str:
    """The language's name in itself ("de" -> "Deutsch"), or its English name where CLDR has no autonym."""
    language = langcodes.Language.get(code)
    autonym = str(language.autonym()) if language.has_name_data() else ""
    return autonym if autonym and not autonym.startswith("Unknown language") else language_name(code)
