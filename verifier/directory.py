"""The renders the verifier may name, as the creator app publishes them.

The verifier sits below the creator app (studio) and never imports it: studio
registers a `RenderDirectory` when it starts (StudioConfig.ready), and the
verifier asks it for the few public facts a report needs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured
from django.core.files import File

from consent.models import Consent
from provenance.content_tracks import ContentTracks
from provenance.fingerprint import ContentFingerprint


@dataclass(frozen=True)
class RenderRecord:
    """What the verifier may know of a render: when it was made, under which consent, its content fingerprint and
    tracks."""

    id: uuid.UUID
    created_at: datetime
    consent: Consent
    fingerprint: ContentFingerprint | None
    video: File | None
    # Its picture and sound over time; None for renders made before these were kept.
    tracks: ContentTracks | None = None


class RenderDirectory(Protocol):
    def render_by_id(self, render_id: uuid.UUID) -> RenderRecord | None: ...

    def render_by_watermark_serial(self, serial: int) -> RenderRecord | None: ...

    def render_by_share_token(self, token: str) -> RenderRecord:
        """The render a share link names; ApplicationError(404) when the link is forged, expired or unknown."""
        ...


_registered: list[RenderDirectory] = []


def directory_register(directory: RenderDirectory) -> None:
    _registered[:] = [directory]


def directory() -> RenderDirectory:
    if not _registered:
        raise ImproperlyConfigured("no RenderDirectory is registered: is 'studio' in INSTALLED_APPS?")
    return _registered[0]
