"""No secret reaches a log: every log record's message has its link tokens and credentials replaced before any handler
sees it.

A generic rule rather than a list of URLs: any path or query segment that looks random (16 or more URL-safe
characters that are not plain lowercase words) is a capability - a consent, revoke, registry, share or password-reset
token, a UUID - and `Token ...`, `Bearer ...` and `Basic ...` credentials are cut too. Done in the record factory, so
Django's request log, Celery's and gunicorn's records and any handler added later all get the redacted text.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"

# A run of URL-safe characters after "/" or "=" (a path segment or a query value).
_SEGMENT = re.compile(r"(?<=[/=])[A-Za-z0-9_\-.:~%]{16,}")
# What may stay: lowercase words joined by - or _, with an optional extension (consent-request, captions.vtt).
_WORDS = re.compile(r"[a-z]+(?:[-_][a-z]+)*(?:\.[a-z0-9]+)?")
_CREDENTIAL = re.compile(r"(?i)\b(token|bearer|basic)(\s+)[^\s'\",;]+")


def secrets_redact(text: str) -> str:
    """`text` with every token-like path or query segment and every credential replaced by [redacted]."""
    text = _SEGMENT.sub(lambda match: match[0] if _WORDS.fullmatch(match[0]) else REDACTED, text)
    return _CREDENTIAL.sub(lambda match: f"{match[1]}{match[2]}{REDACTED}", text)


def redacting_record_factory_install() -> None:
    """Make every log record of this process carry its message already redacted (idempotent)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "redacts_secrets", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format: keep the template alone
            message = str(record.msg)
        record.msg = secrets_redact(message)
        record.args = None
        return record

    factory.redacts_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
