"""Template filters of the creator pages: a video's standing as every list shows it."""

from __future__ import annotations

from django import template

from studio.models import Render
from studio.selectors import ConsentStanding, render_consent_standing

register = template.Library()


@register.filter
def consent_standing(render: Render) -> ConsentStanding | None:
    """{% with standing=r|consent_standing %}: revoked, expired or erased (with the date), or None."""
    return render_consent_standing(render)
