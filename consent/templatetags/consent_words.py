"""Consent scopes in words for the person pictured: purposes described, languages by name."""

from __future__ import annotations

from django import template

from core.languages import language_name

from ..models import PURPOSE_WORDS

register = template.Library()


@register.filter
def purpose_words(purposes: list[str]) -> list[str]:
    """["marketing"] -> ["marketing and advertising"]."""
    return [PURPOSE_WORDS.get(purpose, purpose) for purpose in purposes]


@register.filter
def purpose_word(purpose: str) -> str:
    return PURPOSE_WORDS.get(purpose, purpose)


@register.filter
def language_names(codes: list[str]) -> list[str]:
    """["de", "fr"] -> ["German", "French"]; ["any"] -> ["any language"]."""
    return [language_name(code) for code in codes]


@register.filter(name="language_name")
def language_name_filter(code: str) -> str:
    return language_name(code) if code else "not given"
