"""Verify any video in three steps: gather the evidence, decide the verdict, write the report.

Evidence is what the file says (its C2PA manifest, Candor's invisible watermark,
its picture) and which render on record those name; the verdict weighs them;
the report says it in plain sentences and in fields for machines.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import numpy as np
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from core.errors import ApplicationError, ErrorCode
from core.parsers import uuid_or_none
from inference import media
from inference.errors import InferenceError
from provenance import c2pa_manifest, keys, watermark
from provenance.fingerprint import MATCH_THRESHOLD, content_similarity, frame_luma
from provenance.services import watermark_keys

from .directory import RenderRecord, directory
from .report import Verdict, VerificationReport, report_build

# Frames the verifier folds at most: the watermark usually decodes after 4, and
# reading stops there, so even an hour-long upload answers in well under 2 s.
VERIFY_SAMPLE_FRAMES = 30
# Render video paths the verifier follows besides share links: only this site's own, never another host.
_RENDER_VIDEO_PATHS = ("/renders/{id}/video/", "/api/renders/{id}/video/")
COPY_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class Evidence:
    """What a video file says about itself, and the renders on record it names."""

    container: str
    manifest: c2pa_manifest.ManifestReport
    reading: watermark.WatermarkReading
    # The render the trusted manifest names (its hash binding proves these are the render's bytes).
    by_manifest: RenderRecord | None
    # The render the watermark names, and how alike its stored picture and this file's are.
    by_watermark: RenderRecord | None
    content_similarity: float | None


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


def video_evidence(*, path: Path) -> Evidence:
    """Read the file's manifest and watermark, and find the renders they name."""
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
            watermark_keys(),
            max_frames=VERIFY_SAMPLE_FRAMES,
            reference_side=settings.CANDOR_RENDER_MAX_SIDE,
        )
    except UnicodeDecodeError as error:
        # PyAV decodes container tags as UTF-8 when opening and raises this on corrupt ones.
        raise InferenceError("invalid_video", "the file is not a readable video (MP4, MOV or WebM)") from error
    if reading.frames_examined == 0:
        raise InferenceError("invalid_video", "no picture could be decoded from the file")

    renders = directory()
    manifest_render_id = uuid_or_none(manifest.render_id or "") if manifest.trusted else None
    by_manifest = renders.render_by_id(manifest_render_id) if manifest_render_id else None
    by_watermark = (
        renders.render_by_watermark_serial(reading.serial) if reading.found and reading.serial is not None else None
    )
    similarity = None
    if by_manifest is None and by_watermark is not None and by_watermark.fingerprint is not None and luma_sums:
        similarity = content_similarity(
            by_watermark.fingerprint,
            luma_sums[0] / luma_sums[1],
            scale=reading.scale or 1.0,
            mirrored=bool(reading.mirrored),
        )
    return Evidence(
        container=container,
        manifest=manifest,
        reading=reading,
        by_manifest=by_manifest,
        by_watermark=by_watermark,
        content_similarity=similarity,
    )


def verdict_decide(evidence: Evidence) -> Verdict:
    """A trusted manifest or a watermark on the render's own picture is Candor's; a copied watermark is not."""
    content_match: bool | None = None
    if evidence.by_manifest is not None:
        # The manifest's hash binding already proves these are the render's bytes.
        content_match = True
    elif evidence.content_similarity is not None:
        content_match = evidence.content_similarity >= MATCH_THRESHOLD
    if evidence.by_manifest is not None or (evidence.by_watermark is not None and content_match is not False):
        name = "candor_generated"
    elif evidence.by_watermark is not None:
        name = "content_mismatch"
    elif evidence.manifest.present and not evidence.manifest.valid:
        name = "tampered"
    else:
        name = "not_recognized"
    render = evidence.by_manifest or evidence.by_watermark
    return Verdict(name=name, content_match=content_match, render=None if name == "content_mismatch" else render)


def video_verify(*, path: Path) -> VerificationReport:
    """What Candor can say about a video: its C2PA manifest, its watermark, and whether its content is the render's."""
    started = time.monotonic()
    evidence = video_evidence(path=path)
    verdict = verdict_decide(evidence)
    return report_build(evidence=evidence, verdict=verdict, seconds=time.monotonic() - started)


def upload_verify(*, upload: UploadedFile | None = None, url: str = "") -> VerificationReport:
    """Verify an uploaded file (size-checked, spooled to a temp file) or a share link to a video on this site."""
    if url:
        if upload is not None:
            raise ApplicationError(ErrorCode.INVALID, "send either a video file or a link, not both")
        return _share_link_verify(url=url)
    if upload is None:
        raise ApplicationError(
            ErrorCode.INVALID, "send the video as the multipart field 'video' or a Candor link as 'url'"
        )
    if upload.size is not None and upload.size > settings.CANDOR_MAX_VIDEO_BYTES:
        raise ApplicationError(
            ErrorCode.TOO_LARGE, f"videos up to {settings.CANDOR_MAX_VIDEO_BYTES / 1e6:.0f} MB can be verified"
        )
    if upload.size == 0:
        raise ApplicationError(ErrorCode.INVALID_VIDEO, "the video file is empty")
    return _stream_verify(upload.chunks())


def _stream_verify(chunks: Iterable[bytes]) -> VerificationReport:
    """Spool a video to a private temp file under the data directory, then verify it."""
    with tempfile.NamedTemporaryFile(suffix=".video", dir=settings.DATA_DIR) as handle:
        for chunk in chunks:
            handle.write(chunk)
        handle.flush()
        try:
            return video_verify(path=Path(handle.name))
        except InferenceError as error:
            raise ApplicationError(ErrorCode(error.code), error.detail) from error


def _file_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    with handle:
        yield from iter(lambda: handle.read(COPY_CHUNK_BYTES), b"")


def _share_link_verify(*, url: str) -> VerificationReport:
    """Follow a link only when it points at a render on this very site; the file is read from storage, never fetched.

    Accepted: a share link (/watch/<token>/ or its video.mp4) and a render's own video path. The video is read
    through the storage API, so S3-compatible storage works as local files do.
    """
    parts = urlsplit(url.strip())
    ours = urlsplit(settings.CANDOR_PUBLIC_URL)
    if parts.scheme not in ("http", "https") or (parts.scheme, parts.netloc) != (ours.scheme, ours.netloc):
        raise ApplicationError(
            ErrorCode.FOREIGN_URL,
            f"only links to {settings.CANDOR_PUBLIC_URL} can be checked; download the video and upload the file "
            "instead",
        )
    segments = parts.path.strip("/").split("/")
    render: RenderRecord | None
    if segments[0] == "watch" and len(segments) in (2, 3) and segments[2:] in ([], ["video.mp4"]):
        render = directory().render_by_share_token(segments[1])
    else:
        render_id: uuid.UUID | None = uuid_or_none(segments[-2]) if len(segments) >= 3 else None
        if render_id is None or parts.path not in {pattern.format(id=segments[-2]) for pattern in _RENDER_VIDEO_PATHS}:
            raise ApplicationError(ErrorCode.INVALID_URL, "this is not a link to a Candor video")
        render = directory().render_by_id(render_id)
    if render is None or not render.video:
        raise ApplicationError(ErrorCode.NOT_FOUND, "no video is stored under this link (it may have been deleted)")
    return _stream_verify(_file_chunks(render.video.open("rb")))
