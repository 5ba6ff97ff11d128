"""Provenance actions: mark a render's frames (label, watermark, fingerprint), sign its MP4, and verify any video."""

from __future__ import annotations

import hashlib
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from django.conf import settings

from inference import media
from inference.errors import InferenceError
from inference.pipeline import run_ahead

from . import c2pa_manifest, keys, watermark
from .fingerprint import MATCH_THRESHOLD, content_fingerprint, content_similarity, frame_luma
from .label import frame_label
from .models import RenderFingerprint
from .signer import local_signer

GENERATOR_VERSION = metadata.version("candor")
# Frames the verifier folds at most: the watermark usually decodes after 4, and
# reading stops there, so even an hour-long upload answers in well under 2 s.
VERIFY_SAMPLE_FRAMES = 30
# Render video paths the verifier follows besides share links: only this site's own, never another host.
_SHARE_PATHS = ("/renders/{id}/video/", "/api/renders/{id}/video/")

VERDICTS = ("candor_generated", "content_mismatch", "tampered", "not_recognized")
# The watermark serial of first-second previews (renders start at 1): unstored, so never tied to a render.
PREVIEW_WATERMARK_SERIAL = 0


def _watermark_key() -> bytes:
    return keys.secret_load_or_create(settings.KEYS_DIR, "watermark")


def _watermark_keys() -> list[bytes]:
    """The current watermark key, then rotated-out ones: videos marked before a rotation still read."""
    return [_watermark_key(), *keys.secrets_retired(settings.KEYS_DIR, "watermark")]


def provenance_frames(
    frames: Iterable[np.ndarray], *, render, on_wait: Callable[[], None] | None = None
) -> Iterator[np.ndarray]:
    """Label (when the render asks) and watermark every frame, then store the render's content fingerprint.

    The watermark goes last so the label cannot disturb it; the fingerprint is
    taken from the frames as published and stored once the last frame is out.
    on_wait() is called in the caller's thread every half second while no frame is ready.
    """
    marker = watermark.FrameWatermarker(render.watermark_serial, _watermark_key())
    labelled = (frame_label(frame) for frame in frames) if render.label else frames
    luma_sum: np.ndarray | None = None
    count = 0
    # Animation, label and watermark run a few frames ahead on a second core
    # while the caller encodes; the database work stays in the caller's thread.
    for marked in run_ahead((marker.mark(frame) for frame in labelled), on_wait=on_wait):
        luma = frame_luma(marked)
        luma_sum = luma if luma_sum is None else luma_sum + luma
        count += 1
        yield marked
    if luma_sum is not None:
        render_fingerprint_store(render=render, mean_luma=luma_sum / count)


def live_frame_filter(*, render, fingerprint_every: int = 25) -> Callable[[np.ndarray], np.ndarray]:
    """frame -> frame for a live stream of a render: label (when the render asks) and watermark it, as provenance_frames does.

    A live stream can be cut off at any frame, so the content fingerprint is
    stored from the first frame on and renewed every fingerprint_every frames.
    """
    marker = watermark.FrameWatermarker(render.watermark_serial, _watermark_key())
    luma_sum: np.ndarray | None = None
    count = 0

    def marked(frame: np.ndarray) -> np.ndarray:
        nonlocal luma_sum, count
        published = marker.mark(frame_label(frame) if render.label else frame)
        luma = frame_luma(published)
        luma_sum = luma if luma_sum is None else luma_sum + luma
        count += 1
        if count % fingerprint_every == 1 or fingerprint_every == 1:
            render_fingerprint_store(render=render, mean_luma=luma_sum / count)
        return published

    return marked


def render_fingerprint_store(*, render, mean_luma: np.ndarray) -> RenderFingerprint:
    fingerprint = content_fingerprint(mean_luma)
    stored, _ = RenderFingerprint.objects.update_or_create(
        render=render,
        defaults={
            "frame_width": fingerprint.frame_width,
            "frame_height": fingerprint.frame_height,
            "thumbnail_width": fingerprint.thumbnail.shape[1],
            "thumbnail_height": fingerprint.thumbnail.shape[0],
            "thumbnail": fingerprint.thumbnail.tobytes(),
        },
    )
    return stored


def _portrait_sha256(render) -> str:
    digest = hashlib.sha256()
    with render.portrait.image.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def video_sign(*, source: Path, destination: Path, render) -> None:
    """Sign a render's MP4: AI-generated, watermarked (soft binding), portrait by hash, consent by reference."""
    consent = render.consent
    material = keys.signing_material_load_or_create(settings.KEYS_DIR)
    payload = watermark.payload_bits(render.watermark_serial, _watermark_key())
    c2pa_manifest.mp4_sign(
        source=source,
        destination=destination,
        signer=local_signer(material),
        trust_anchor_pem=material.root_certificate_pem,
        render_id=str(render.id),
        title=f"Candor render {render.id}",
        generator_version=GENERATOR_VERSION,
        consent_summary={
            "consent_id": str(consent.id),
            "purposes": consent.purposes,
            "languages": consent.languages,
            "status_url": f"{settings.CANDOR_PUBLIC_URL}/verify/",
        },
        ingredient=c2pa_manifest.Ingredient(
            title="source portrait", relationship="parentOf", sha256=_portrait_sha256(render)
        ),
        soft_binding=c2pa_manifest.SoftBinding(
            algorithm=watermark.ALGORITHM, payload_hex=np.packbits(payload).tobytes().hex()
        ),
        edits=("c2pa.edited",) if render.label else (),
    )


@dataclass(frozen=True)
class VerificationReport:
    verdict: str
    # Plain sentences: what was found, what was not, and what that means.
    explanation: tuple[str, ...]
    # Whether the picture is the render's own (None when nothing names a render
    # or no fingerprint is stored for it).
    content_match: bool | None
    c2pa: dict
    watermark: dict
    render: dict | None
    seconds: float


def _container(path: Path) -> tuple[str, str | None]:
    """('mp4' | 'mov' | 'webm', C2PA MIME type or None) from the file's first bytes."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    if head[4:8] == b"ftyp":
        return ("mov", c2pa_manifest.MOV_MIME) if head[8:12] == b"qt  " else ("mp4", c2pa_manifest.MP4_MIME)
    if head[:4] == b"\x1a\x45\xdf\xa3":
        # C2PA has no binding for Matroska/WebM, so only the watermark can speak.
        return "webm", None
    raise InferenceError("invalid_video", "the file is not a readable video (MP4, MOV or WebM)")


def _luma_recorded(frames: Iterable[np.ndarray], sums: list) -> Iterator[np.ndarray]:
    """Pass frames through while keeping the sum and count of their luma for the content check."""
    for frame in frames:
        if frame.ndim == 3:
            luma = frame_luma(frame)
            if not sums:
                sums.extend([luma, 1])
            elif sums[0].shape == luma.shape:
                sums[0] = sums[0] + luma
                sums[1] += 1
        yield frame


def video_verify(*, path: Path) -> VerificationReport:
    """What Candor can say about a video: its C2PA manifest, its invisible watermark, and whether its content is the render's."""
    from consent.services import consent_status_now
    from studio.models import Render

    started = time.monotonic()
    container, mime = _container(path)
    material = keys.signing_material_load_or_create(settings.KEYS_DIR)
    if mime is None:
        manifest = c2pa_manifest.report_absent(issues=())
    else:
        manifest = c2pa_manifest.mp4_read_manifest(
            path=path, root_certificate_pem=material.root_certificate_pem, mime=mime
        )
    luma_sums: list = []
    try:
        reading = watermark.watermark_read(
            _luma_recorded(media.video_frames(path, max_frames=VERIFY_SAMPLE_FRAMES), luma_sums),
            _watermark_keys(),
            max_frames=VERIFY_SAMPLE_FRAMES,
            reference_side=settings.CANDOR_RENDER_MAX_SIDE,
        )
    except UnicodeDecodeError as error:
        # PyAV decodes container tags as UTF-8 when opening and raises this on corrupt ones.
        raise InferenceError("invalid_video", "the file is not a readable video (MP4, MOV or WebM)") from error
    if reading.frames_examined == 0:
        raise InferenceError("invalid_video", "no picture could be decoded from the file")

    renders = Render.objects.select_related("consent__portrait", "fingerprint")
    manifest_render_id = _uuid_or_none(manifest.render_id or "") if manifest.trusted else None
    by_manifest = renders.filter(id=manifest_render_id).first() if manifest_render_id else None
    by_watermark = renders.filter(watermark_serial=reading.serial).first() if reading.found else None
    render = by_manifest or by_watermark

    content_match: bool | None = None
    similarity: float | None = None
    if by_manifest is not None:
        # The manifest's hash binding already proves these are the render's bytes.
        content_match = True
    elif by_watermark is not None and hasattr(by_watermark, "fingerprint") and luma_sums:
        similarity = content_similarity(
            by_watermark.fingerprint.as_fingerprint(),
            luma_sums[0] / luma_sums[1],
            scale=reading.scale or 1.0,
            mirrored=bool(reading.mirrored),
        )
        content_match = similarity >= MATCH_THRESHOLD

    if by_manifest is not None or (by_watermark is not None and content_match is not False):
        verdict = "candor_generated"
    elif by_watermark is not None:
        verdict = "content_mismatch"
    elif manifest.present and not manifest.valid:
        verdict = "tampered"
    else:
        verdict = "not_recognized"

    render_info = None
    if render is not None and verdict != "content_mismatch":
        render_info = {
            "id": str(render.id),
            "created_at": render.created_at.isoformat(),
            "consent_status": consent_status_now(render.consent),
        }
    watermark_render_id = str(by_watermark.id) if by_watermark is not None else None
    return VerificationReport(
        verdict=verdict,
        explanation=_explanation(
            verdict=verdict,
            container=container,
            manifest=manifest,
            reading=reading,
            render_info=render_info,
            content_match=content_match,
            watermark_render_known=by_watermark is not None,
        ),
        content_match=content_match,
        c2pa={
            "present": manifest.present,
            "valid": manifest.valid,
            "trusted": manifest.trusted,
            "tampered": manifest.present and not manifest.valid and manifest.hash_binding_intact is not True,
            "hash_binding": manifest.hash_binding,
            "hash_binding_intact": manifest.hash_binding_intact,
            "claim_generator": manifest.claim_generator,
            "digital_source_type": manifest.digital_source_type,
            "actions": list(manifest.actions),
            "ingredients": list(manifest.ingredients),
            "soft_binding": manifest.soft_binding,
            "consent": manifest.consent,
            "signed_at": manifest.signed_at,
            "signer": manifest.signer,
            "issues": list(manifest.issues),
        },
        watermark={
            "found": reading.found,
            "algorithm": watermark.ALGORITHM,
            "render_id": watermark_render_id if verdict != "content_mismatch" else None,
            "bit_errors": reading.bit_errors,
            "frames_examined": reading.frames_examined,
            "scale": reading.scale,
            "mirrored": reading.mirrored,
            "content_similarity": None if similarity is None else round(similarity, 3),
        },
        render=render_info,
        seconds=round(time.monotonic() - started, 3),
    )


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _explanation(
    *, verdict, container, manifest, reading, render_info, content_match, watermark_render_known
) -> tuple[str, ...]:
    lines = []
    if manifest.present and manifest.valid and manifest.trusted:
        lines.append(
            f"A C2PA manifest signed by Candor is present and intact ({manifest.hash_binding or 'hash binding'} matches the file); "
            f"it declares the video AI-generated by {manifest.claim_generator}."
        )
    elif manifest.present and manifest.valid:
        lines.append("A valid C2PA manifest is present, but it is not signed by Candor's certificate authority.")
    elif manifest.present:
        if manifest.hash_binding_intact is False:
            lines.append(
                "A C2PA manifest is present but the video was changed after signing: its hash no longer matches (tampered)."
            )
        else:
            lines.append(
                f"A C2PA manifest is present but damaged or invalid ({', '.join(manifest.issues) or 'unreadable'})."
            )
    elif container == "webm":
        lines.append("WebM files cannot carry a C2PA manifest, so only the invisible watermark was checked.")
    else:
        lines.append("No C2PA manifest: it was never there or was stripped (re-encoding and most uploads strip it).")
    if reading.found and watermark_render_known:
        where = (
            ""
            if not reading.scale or reading.scale == 1.0
            else f" in a copy at {reading.scale:.0%} of the original size"
        )
        lines.append(
            f"Candor's invisible watermark was found{where}, naming one of Candor's renders ({reading.frames_examined} frames read)."
        )
    elif reading.found and reading.serial == PREVIEW_WATERMARK_SERIAL:
        lines.append(
            "Candor's invisible watermark for previews was found: this looks like a one-second preview made with Candor "
            "(AI-generated). Previews are not stored, so Candor can confirm nothing more about it."
        )
    elif reading.found:
        lines.append("Candor's invisible watermark was found, but no render with its id is on record here.")
    else:
        lines.append(f"No Candor watermark was found in {reading.frames_examined} frames.")
    if content_match is False:
        lines.append(
            "The picture does not match the render the watermark names: the watermark was copied onto other content, "
            "so this video is not a Candor render."
        )
    if render_info is not None:
        lines.append(
            f"Made with Candor on {render_info['created_at'][:10]}; the person pictured consented, and that consent is "
            f"{render_info['consent_status']} now."
        )
    if verdict == "tampered":
        lines.append(
            "The manifest cannot be trusted and no watermark confirms the video, so its origin cannot be established."
        )
    if verdict == "not_recognized" and not reading.found:
        lines.append("Not recognized as a Candor video. Absence of a watermark is not proof that a video is authentic.")
    elif verdict == "not_recognized":
        lines.append("Not recognized as a Candor render on record.")
    return tuple(lines)


def upload_verify(*, upload=None, url: str = "") -> VerificationReport:
    """Verify an uploaded file (size-checked, spooled to a temp file) or a share link to a video on this site."""
    from core.errors import ApplicationError, ErrorCode

    if url:
        if upload is not None:
            raise ApplicationError(ErrorCode.INVALID, "send either a video file or a link, not both")
        return _share_link_verify(url=url)
    if upload is None:
        raise ApplicationError(
            ErrorCode.INVALID, "send the video as the multipart field 'video' or a Candor link as 'url'"
        )
    if upload.size > settings.CANDOR_MAX_VIDEO_BYTES:
        raise ApplicationError(
            ErrorCode.TOO_LARGE, f"videos up to {settings.CANDOR_MAX_VIDEO_BYTES / 1e6:.0f} MB can be verified"
        )
    if upload.size == 0:
        raise ApplicationError(ErrorCode.INVALID_VIDEO, "the video file is empty")
    with tempfile.NamedTemporaryFile(suffix=".video", dir=settings.DATA_DIR) as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
        handle.flush()
        return _verify_as_application(path=Path(handle.name))


def _verify_as_application(*, path: Path) -> VerificationReport:
    from core.errors import ApplicationError

    try:
        return video_verify(path=path)
    except InferenceError as error:
        raise ApplicationError(error.code, error.detail) from error


def _share_link_verify(*, url: str) -> VerificationReport:
    """Follow a link only when it points at a render on this very site; the file is read from storage, never fetched.

    Accepted: a share link (/watch/<token>/ or its video.mp4) and a render's own video path.
    """
    from core.errors import ApplicationError, ErrorCode
    from studio.models import Render
    from studio.sharing import render_for_share_token

    parts = urlsplit(url.strip())
    ours = urlsplit(settings.CANDOR_PUBLIC_URL)
    if parts.scheme not in ("http", "https") or (parts.scheme, parts.netloc) != (ours.scheme, ours.netloc):
        raise ApplicationError(
            ErrorCode.FOREIGN_URL,
            f"only links to {settings.CANDOR_PUBLIC_URL} can be checked; download the video and upload the file instead",
        )
    segments = parts.path.strip("/").split("/")
    if segments[0] == "watch" and len(segments) in (2, 3) and segments[2:] in ([], ["video.mp4"]):
        render = render_for_share_token(token=segments[1])
    else:
        render_id = _uuid_or_none(segments[-2]) if len(segments) >= 3 else None
        if render_id is None or parts.path not in {pattern.format(id=segments[-2]) for pattern in _SHARE_PATHS}:
            raise ApplicationError(ErrorCode.INVALID_URL, "this is not a link to a Candor video")
        render = Render.objects.filter(id=render_id).first()
    if render is None or not render.video:
        raise ApplicationError(ErrorCode.NOT_FOUND, "no video is stored under this link (it may have been deleted)")
    return _verify_as_application(path=Path(render.video.path))


def report_as_dict(report: VerificationReport) -> dict:
    return asdict(report)
