"""QR codes of links, drawn as inline SVG (segno: pure Python, no image files), for a creator to show a phone."""

from __future__ import annotations

import segno
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def qr_svg(url: str, *, label: str) -> SafeString:
    """An <svg> QR code of the url (error correction M, 4 px modules), named by `label` for screen readers."""
    code = segno.make(url, error="m")
    svg = code.svg_inline(scale=4, border=2, svgclass="qr", lineclass=None, omitsize=False)
    # segno's markup holds only numbers and the path; the label is escaped.
    return mark_safe(svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1))  # noqa: S308
