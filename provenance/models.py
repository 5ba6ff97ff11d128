"""What provenance keeps per render beyond the studio's own record: its content fingerprint and tracks."""

from __future__ import annotations

import numpy as np
from django.db import models

from .content_tracks import ContentTracks, tracks_from_bytes
from .fingerprint import ContentFingerprint


class RenderFingerprint(models.Model):
    """A render's thumbnail-sized luma picture, kept after its video is deleted, to catch watermarks copied onto other
    videos.
    """

    render = models.OneToOneField("studio.Render", on_delete=models.CASCADE, related_name="fingerprint")
    frame_width = models.PositiveIntegerField()
    frame_height = models.PositiveIntegerField()
    thumbnail_width = models.PositiveSmallIntegerField()
    thumbnail_height = models.PositiveSmallIntegerField()
    thumbnail = models.BinaryField()
    # The render's picture and sound over time (provenance.content_tracks), null for renders made before they were kept.
    content_tracks = models.BinaryField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"fingerprint of render {self.render_id}"

    def as_fingerprint(self) -> ContentFingerprint:
        pixels = np.frombuffer(bytes(self.thumbnail), dtype=np.uint8).reshape(
            self.thumbnail_height, self.thumbnail_width
        )
        return ContentFingerprint(pixels, self.frame_height, self.frame_width)

    def as_tracks(self) -> ContentTracks | None:
        return tracks_from_bytes(bytes(self.content_tracks)) if self.content_tracks is not None else None
