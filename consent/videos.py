"""The videos made with a portrait, as the creator app publishes them to the person pictured's pages.

Consent sits below the creator app (studio) and never imports it: studio registers a `VideoDirectory` when it starts
(StudioConfig.ready), as it registers the verifier's RenderDirectory.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class VideoMade:
    """One video of a portrait, as its person may know it: no text, no file, no creator's notes."""

    made_at: datetime
    # queued, running, done, failed or cancelled
    status: str
    purpose: str
    # A language code; empty where the creator uploaded a recording without naming its language.
    language: str
    labelled: bool


class VideoDirectory(Protocol):
    def videos_of_portrait(self, portrait_id: uuid.UUID) -> list[VideoMade]:
        """Every render of the portrait, newest first."""
        ...


_registered: list[VideoDirectory] = []


def video_directory_register(directory: VideoDirectory) -> None:
    _registered[:] = [directory]


def video_directory() -> VideoDirectory:
    if not _registered:
        raise ImproperlyConfigured("no VideoDirectory is registered: is 'studio' in INSTALLED_APPS?")
    return _registered[0]
