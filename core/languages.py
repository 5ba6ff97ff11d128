"""The one check of language codes (every scope, render and voice request is validated here), and their names."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError

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


def language_name(code: str, locale: str = "en") -> str:
    """A language code's name in `locale`, from the Unicode CLDR data Babel ships ("de" -> "German", "en-us" ->
    "English (United States)"; "any" -> "any language").

    A code CLDR does not know (a few of the synthesizer's, e.g. "piqd") is named by the code itself.
    """
    if code == ANY_LANGUAGE:
        return "any language"
    try:
        name = Locale.parse(code, sep="-").get_display_name(locale)
    except (ValueError, UnknownLocaleError):
        name = Locale.parse(locale).languages.get(code)
    return name or code
