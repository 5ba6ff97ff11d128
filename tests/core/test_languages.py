"""Language codes in words: the names the consent page and the creator's forms show."""

from __future__ import annotations

import pytest

from core.languages import language_name
from inference import speech


@pytest.mark.parametrize(
    ("code", "locale", "name"),
    [
        ("de", "en", "German"),
        ("fr", "en", "French"),
        ("en-us", "en", "English (United States)"),
        ("fr", "de", "Französisch"),
        ("any", "en", "any language"),
    ],
)
def test_it_names_a_language_in_the_readers_locale(code, locale, name):
    assert language_name(code, locale) == name


def test_a_code_cldr_does_not_know_is_named_by_itself():
    assert language_name("piqd") == "piqd"
    assert language_name("en-gb-x-gbcwmd") == "en-gb-x-gbcwmd"


def test_most_languages_the_synthesizer_speaks_have_a_name():
    codes = sorted(speech.languages())
    named = [code for code in codes if language_name(code) != code]
    assert len(named) >= 0.9 * len(codes), sorted(set(codes) - set(named))
