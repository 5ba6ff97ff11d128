"""Provenance actions: mark a render's frames (label, watermark, fingerprint) and sign its MP4."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from importlib import metadata
from pathlib import Path

import numpy as np
from django.conf import settings

from core.http import public_url
from inference.pipeline import run_ahead

from . import c2pa_manifest, keys, watermark
from .content_tracks import ContentTracks, RenderTracker, render_tracker, sound_fingerprint, tracks_to_bytes
from .fingerprint import content_fingerprint, frame_luma
from .label import frame_label
from .models import RenderFingerprint, RenderManifest
from .signer import local_signer

GENERATOR_VERSION = metadata.version("candor")
# The watermark serial of first-second previews (renders start at 1): unstored, so never tied to a render.
PREVIEW_WATERMARK_SERIAL = 0


def _watermark_key() -> bytes:
    return keys.secret_load_or_create(settings.KEYS_DIR, "watermark")


def watermark_keys() -> list[bytes]:
    """The current watermark key, then rotated-out ones: videos marked before a rotation still read."""
    return [_watermark_key(), *keys.secrets_retired(settings.KEYS_DIR, "watermark")]


class _Publisher:
    """Publishes a render's frames: labels them (when the render asks) and watermarks them, the watermark last so the
    label cannot disturb it, and keeps the content fingerprint and tracks of the frames published so far."""

    def __init__(self, *, render, sound: tuple[np.ndarray, int] | None):
        self.render = render
        self.marker = watermark.FrameWatermarker(render.watermark_serial, _watermark_key())
        self.sound = sound
        self.audio_words: np.ndarray | None = None
        self.luma_sum: np.ndarray | None = None
        self.tracker: RenderTracker | None = None
        self.count = 0

    def publish(self, frame: np.ndarray) -> np.ndarray:
        if self.audio_words is None:
            # With the first frame, in the thread that publishes (a render's producer, while the render's own thread
            # keeps reporting progress): a 10-minute recording takes a second or two.
            self.audio_words = sound_fingerprint(self.sound)
        published = self.marker.mark(frame_label(frame, self.render.label_corner) if self.render.label else frame)
        luma = frame_luma(published)
        self.luma_sum = luma if self.luma_sum is None else self.luma_sum + luma
        self.tracker = self.tracker or render_tracker(published, fps=settings.CANDOR_RENDER_FPS)
        self.tracker.add(luma)
        self.count += 1
        return published

    def store(self) -> None:
        if self.luma_sum is not None and self.tracker is not None and self.audio_words is not None:
            render_fingerprint_store(
                render=self.render,
                mean_luma=self.luma_sum / self.count,
                tracks=self.tracker.tracks(audio_words=self.audio_words),
            )


def provenance_frames(
    frames: Iterable[np.ndarray],
    *,
    render,
    sound: tuple[np.ndarray, int] | None = None,
    on_wait: Callable[[], None] | None = None,
) -> Iterator[np.ndarray]:
    """Label (when the render asks) and watermark every frame, then store the render's content fingerprint and tracks.

    The fingerprint and the picture tracks are taken from the frames as published, the sound track from `sound` (mono
    samples, sample rate: what the MP4 will carry), and stored once the last frame is out.
    on_wait() is called in the caller's thread every half second while no frame is ready.
    """
    publisher = _Publisher(render=render, sound=sound)
    # Animation, label, watermark and the content's fingerprint and tracks run a few frames ahead on a second core
    # while the caller encodes (the fingerprint's share there left the encoding thread the slower of the two); the
    # database work stays in the caller's thread, after run_ahead has joined the producer.
    yield from run_ahead((publisher.publish(frame) for frame in frames), on_wait=on_wait)
    publisher.store()


class LiveFrameMarker:
    """frame -> frame for a live stream of a render: label (when the render asks) and watermark it, as
    provenance_frames does.

    A live stream can be cut off at any frame, so the content fingerprint and tracks
    are stored from the first frame on and renewed every fingerprint_every frames;
    store() brings them up to the last frame when the stream ends. `sound` is the
    whole recording the stream speaks (the verifier compares only the part streamed).
    """

    def __init__(self, *, render, sound: tuple[np.ndarray, int] | None, fingerprint_every: int):
        self.publisher = _Publisher(render=render, sound=sound)
        self.fingerprint_every = fingerprint_every

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        published = self.publisher.publish(frame)
        if self.publisher.count % self.fingerprint_every == 1 or self.fingerprint_every == 1:
            self.store()
        return published

    def store(self) -> None:
        self.publisher.store()


def live_frame_filter(
    *, render, sound: tuple[np.ndarray, int] | None = None, fingerprint_every: int = 25
) -> LiveFrameMarker:
    return LiveFrameMarker(render=render, sound=sound, fingerprint_every=fingerprint_every)


def render_fingerprint_store(
    *, render, mean_luma: np.ndarray, tracks: ContentTracks | None = None
) -> RenderFingerprint:
    fingerprint = content_fingerprint(mean_luma)
    stored, _ = RenderFingerprint.objects.update_or_create(
        render=render,
        defaults={
            "frame_width": fingerprint.frame_width,
            "frame_height": fingerprint.frame_height,
            "thumbnail_width": fingerprint.thumbnail.shape[1],
            "thumbnail_height": fingerprint.thumbnail.shape[0],
            "thumbnail": fingerprint.thumbnail.tobytes(),
            "content_tracks": tracks_to_bytes(tracks) if tracks is not None else None,
        },
    )
    return stored


def _portrait_sha256(render) -> str:
    digest = hashlib.sha256()
    with render.portrait.image.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def video_sign(*, source: Path, destination: Path, render) -> RenderManifest:
    """Sign a render's MP4: AI-generated, watermarked (soft binding), portrait by hash, consent by reference.

    The manifest store is kept, so the soft-binding API can hand it to anyone holding a stripped copy.
    """
    consent = render.consent
    material = keys.signing_material_load_or_create(settings.KEYS_DIR)
    payload = watermark.payload_bits(render.watermark_serial, _watermark_key())
    soft_binding = c2pa_manifest.SoftBinding(
        algorithm=watermark.ALGORITHM, payload_hex=np.packbits(payload).tobytes().hex()
    )
    signed = c2pa_manifest.mp4_sign(
        source=source,
        destination=destination,
        signer=local_signer(material),  # type: ignore[arg-type]  # read-only properties satisfy the protocol at run time
        trust_anchor_pem=material.root_certificate_pem,
        render_id=str(render.id),
        title=f"Candor render {render.id}",
        generator_version=GENERATOR_VERSION,
        consent_summary={
            "consent_id": str(consent.id),
            "purposes": consent.purposes,
            "languages": consent.languages,
            "status_url": public_url("verify"),
        },
        ingredient=c2pa_manifest.Ingredient(
            title="source portrait", relationship="parentOf", sha256=_portrait_sha256(render)
        ),
        soft_binding=soft_binding,
        edits=("c2pa.edited",) if render.label else (),
    )
    stored, _ = RenderManifest.objects.update_or_create(
        render=render,
        defaults={
            "manifest_id": signed.manifest_id,
            "soft_binding_alg": soft_binding.algorithm,
            "soft_binding_value": soft_binding.value,
            "store": signed.store,
        },
    )
    return stored


def render_manifests_erase(*, render_ids: Iterable) -> int:
    """Forget these renders' manifest stores (the portrait was erased); returns how many were deleted.

    A store names no one, but it carries the portrait's hash and the consent's id: after erasure the repository
    answers for these renders exactly as for renders it never had.
    """
    deleted, _ = RenderManifest.objects.filter(render_id__in=list(render_ids)).delete()
    return deleted
