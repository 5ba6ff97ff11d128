"""Request parsers that turn every malformed body into a 400, including JSON nested too deep to decode."""

from __future__ import annotations

import uuid
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, except that `[[[[...` a hundred thousand deep is a parse error, not a crash
    (RecursionError).
    """

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - nested too deeply") from error


def uuid_or_none(value: str) -> uuid.UUID | None:
    """The UUID a client or operator typed, or None when it is not one (the caller then says it does not exist)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
