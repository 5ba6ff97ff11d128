"""Argument helpers shared by the management commands."""

from __future__ import annotations

import uuid


def uuid_or_none(value: str) -> uuid.UUID | None:
    """The UUID an operator typed, or None when it is not one (the command then says the object does not exist)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
