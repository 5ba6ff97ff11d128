"""Template filters of the creator pages: a video's standing as every list shows it, languages by name."""

from __future__ import annotations

from django import template

from core.languages import ANY_LANGUAGE
from studio.models import Render
from studio.selectors import ConsentStanding, render_consent_standing
from studio.voices import spoken_language_name

register = template.Library()


@register.filter
def consent_standing(render: Render) -> ConsentStanding | None:
    """{% with standing=r|consent_standing %}: revoked, expired or erased (with the date), or None."""
    return render_consent_standing(render)


@register.filter
def language_names(codes: list[str]) -> str:
    """["de", "fr"] -> "German, French"; ["any"] -> "any"."""
    return ", ".join(ANY_LANGUAGE if code == ANY_LANGUAGE else spoken_language_name(code) for code in codes)
