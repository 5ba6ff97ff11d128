"""Provenance actions: mark frames (label + watermark), sign MP4s, and verify uploaded videos."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

from inference import media
from inference.errors import InferenceError

from . import c2pa_manifest, keys, watermark
from .label import frame_label

GENERATOR_VERSION = "0.1.0"
VERIFY_SAMPLE_FRAMES = 30


def _watermark_key() -> bytes:
    return keys.secret_load_or_create(settings.KEYS_DIR, "watermark")


def provenance_frames(frames: Iterable[np.ndarray], *, serial: int, label: bool) -> Iterator[np.ndarray]:
    """Label (when asked) and watermark every frame; the watermark goes last so the label cannot disturb it."""
    marker = watermark.FrameWatermarker(serial, _watermark_key())
    for frame in frames:
        yield marker.mark(frame_label(frame) if label else frame)


def video_sign(*, source: Path, destination: Path, render) -> None:
    consent = render.consent
    c2pa_manifest.mp4_sign(
        source=source,
        destination=destination,
        material=keys.signing_material_load_or_create(settings.KEYS_DIR),
        render_id=str(render.id),
        title=f"Candor render {render.id}",
        generator_version=GENERATOR_VERSION,
        consent_summary={
            "consent_id": str(consent.id),
            "purposes": consent.purposes,
            "languages": consent.languages,
            "status_url": f"{settings.CANDOR_PUBLIC_URL}/api/verify/renders/{render.id}/",
        },
    )


@dataclass(frozen=True)
class VerificationReport:
    verdict: str
    c2pa: dict
    watermark: dict
    render: dict | None


def video_verify(*, path: Path) -> VerificationReport:
    """What Candor can say about a video: its C2PA manifest if intact, else the invisible watermark."""
    from consent.services import consent_status_now
    from studio.models import Render

    media.video_probe(path)
    material = keys.signing_material_load_or_create(settings.KEYS_DIR)
    manifest = c2pa_manifest.mp4_read_manifest(path=path, root_certificate_pem=material.root_certificate_pem)
    reading = watermark.watermark_read(
        media.video_frames(path, max_frames=VERIFY_SAMPLE_FRAMES), _watermark_key(), max_frames=VERIFY_SAMPLE_FRAMES
    )
    render = None
    if manifest.trusted and manifest.render_id:
        render = Render.objects.select_related("consent__portrait").filter(id=manifest.render_id).first()
    if render is None and reading.found:
        render = Render.objects.select_related("consent__portrait").filter(watermark_serial=reading.serial).first()
    render_info = None
    if render is not None:
        render_info = {
            "id": str(render.id),
            "created_at": render.created_at.isoformat(),
            "consent_status": consent_status_now(render.consent),
        }
    return VerificationReport(
        verdict="candor_generated" if render is not None else "not_recognized",
        c2pa={
            "present": manifest.present,
            "valid": manifest.valid,
            "trusted": manifest.trusted,
            "digital_source_type": manifest.digital_source_type,
            "claim_generator": manifest.claim_generator,
            "issues": list(manifest.issues),
        },
        watermark={
            "found": reading.found,
            "render_id": str(render.id) if (reading.found and render is not None and render.watermark_serial == reading.serial) else None,
            "bit_errors": reading.bit_errors,
        },
        render=render_info,
    )


def upload_verify(*, upload) -> VerificationReport:
    """Verify an uploaded file (size-checked, spooled to a temp file for the decoders)."""
    from studio.exceptions import ApplicationError

    if upload is None:
        raise ApplicationError("invalid", "send the video as the multipart field 'video'")
    if upload.size > settings.CANDOR_MAX_VIDEO_BYTES:
        raise ApplicationError("too_large", f"videos up to {settings.CANDOR_MAX_VIDEO_BYTES / 1e6:.0f} MB can be verified", status_code=413)
    if upload.size == 0:
        raise ApplicationError("invalid_video", "the video file is empty")
    with tempfile.NamedTemporaryFile(suffix=".video", dir=settings.DATA_DIR) as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
        handle.flush()
        try:
            return video_verify(path=Path(handle.name))
        except InferenceError as error:
            raise ApplicationError(error.code, error.detail) from error


def report_as_dict(report: VerificationReport) -> dict:
    return asdict(report)
