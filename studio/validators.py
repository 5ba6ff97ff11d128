"""Rules on what creators type that other people read: the name of the person pictured goes into Candor's emails."""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError

SUBJECT_NAME_MAX_CHARS = 80
# Anything a mail client could turn into a link: a scheme, www., an address, a domain name (example.com, evil.co/x).
_LINK_LIKE = re.compile(r"://|\bwww\.|@|\b[a-z0-9-]+\.[a-z]{2,}\b", re.IGNORECASE)


def subject_name_validate(value: str) -> None:
    """One line of at most SUBJECT_NAME_MAX_CHARS characters, with nothing a mail client would make a link of."""
    if any(unicodedata.category(character) in ("Cc", "Cf", "Zl", "Zp") for character in value):
        raise ValidationError("the name must be one line of plain text (no line breaks or control characters)")
    if len(value.strip()) > SUBJECT_NAME_MAX_CHARS:
        raise ValidationError(f"the name may have at most {SUBJECT_NAME_MAX_CHARS} characters")
    if _LINK_LIKE.search(value):
        raise ValidationError("the name may not contain a link, a web or email address or a domain name")
