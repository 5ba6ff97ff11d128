"""What provenance keeps per render beyond the studio's own record: its content fingerprint and tracks, and its
signed manifest."""

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


class RenderManifest(models.Model):
    """The C2PA manifest store signed into a render's MP4, byte for byte, served again for copies that lost it.

    Kept in the database (a store is about 13 kB) so that local and S3-compatible media storage behave alike and
    the store outlives the video file, as the fingerprint does. Erasing the portrait deletes it.
    """

    render = models.OneToOneField("studio.Render", on_delete=models.CASCADE, related_name="c2pa_manifest")
    # The active manifest's label (urn:c2pa:<uuid>), the manifestId of the Soft Binding Resolution API.
    manifest_id = models.CharField(max_length=200, unique=True)
    # The manifest's c2pa.soft-binding assertion: algorithm name and base64 value, as signed.
    soft_binding_alg = models.CharField(max_length=100)
    soft_binding_value = models.CharField(max_length=200, db_index=True)
    store = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.manifest_id} of render {self.render_id}"
