"""Verify any video in three steps: gather the evidence, decide the verdict, write the report.

Evidence is what the file says (its C2PA manifest, Candor's invisible watermark,
its picture) and which render on record those name; the verdict weighs them;
the report says it in plain sentences and in fields for machines.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from core.errors import ApplicationError, ErrorCode
from inference.errors import InferenceError
from provenance.fingerprint import MATCH_THRESHOLD
from provenance.services import PREVIEW_WATERMARK_SERIAL

from .directory import directory
from .evidence import Evidence, video_evidence
from .report import Verdict, VerificationReport, report_build

COPY_CHUNK_BYTES = 1 << 20


def verdict_decide(evidence: Evidence) -> Verdict:
    """A trusted manifest, or a watermark on the render's own picture and sound, is Candor's; a copied watermark is
    not; the preview watermark names a Candor preview, which no render on record stands behind.
    """
    content_match: bool | None = None
    if evidence.by_manifest is not None:
        # The manifest's hash binding already proves these are the render's bytes.
        content_match = True
    elif evidence.content is not None:
        # Picture, mouth and sound compared with the render's, track by track.
        content_match = evidence.content.matches
    elif evidence.content_similarity is not None:
        # A render made before its tracks were kept: its coarse picture is all there is to compare.
        content_match = evidence.content_similarity >= MATCH_THRESHOLD
    if evidence.by_manifest is not None or (evidence.by_watermark is not None and content_match is not False):
        name = "candor_generated"
    elif evidence.by_watermark is not None:
        name = "content_mismatch"
    elif evidence.reading.found and evidence.reading.serial == PREVIEW_WATERMARK_SERIAL:
        name = "candor_preview"
    elif evidence.manifest.present and not evidence.manifest.valid:
        name = "tampered"
    else:
        name = "not_recognized"
    render = evidence.by_manifest or evidence.by_watermark
    mismatched: tuple[str, ...] = ()
    if name == "content_mismatch":
        # A render with no tracks on record has only its coarse picture to differ.
        mismatched = evidence.content.mismatched if evidence.content is not None else ("picture",)
    return Verdict(
        name=name,
        content_match=content_match,
        render=None if name == "content_mismatch" else render,
        mismatched=mismatched,
    )


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
    """Follow a link only when it is a live share link on this very site; the file is read from storage, never fetched.

    Accepted: /watch/<token>/ and its video.mp4, where the token is a share link the creator made and has not revoked.
    A render's own video path (/renders/<id>/video/) is refused: a render id is not a permission to watch. The video
    is read through the storage API, so S3-compatible storage works as local files do.
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
    if not (segments[0] == "watch" and len(segments) in (2, 3) and segments[2:] in ([], ["video.mp4"])):
        raise ApplicationError(
            ErrorCode.INVALID_URL, "this is not a Candor share link (/watch/...); upload the video file instead"
        )
    render = directory().render_by_share_token(segments[1])
    if not render.video:
        raise ApplicationError(ErrorCode.NOT_FOUND, "no video is stored under this link (it may have been deleted)")
    return _stream_verify(_file_chunks(render.video.open("rb")))
