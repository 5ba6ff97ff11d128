"""The evidence a video gives about itself: its C2PA manifest, Candor's watermark, and the renders they name."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

from core.parsers import uuid_or_none
from inference import media
from inference.errors import InferenceError
from provenance import c2pa_manifest, keys, watermark
from provenance.content_tracks import ContentTracks, TrackComparison, copy_tracks_read, tracks_compare
from provenance.fingerprint import MATCH_THRESHOLD, ContentFingerprint, content_alignment, frame_luma
from provenance.services import watermark_keys

from .directory import RenderRecord, directory

# Frames the verifier folds at most: the watermark usually decodes after 4, and
# reading stops there, so even an hour-long upload answers in well under 2 s.
VERIFY_SAMPLE_FRAMES = 30
# Checked on the upload's header before any frame is decoded: only VERIFY_SAMPLE_FRAMES frames are read, so length and
# rate matter little, but one frame of a huge picture is costly to decode and to hold. Copies of renders shared on
# the web are far smaller than 4K.
VERIFY_LIMITS = media.VideoLimits(
    max_long_side=3840,
    max_short_side=2160,
    max_duration_s=4 * 3600.0,
    max_fps=240.0,
    codecs=frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "mjpeg", "prores"}),
)
# The stretch of a copy whose picture and sound are compared with the render's, track by track: long enough to pin
# its place in the render, short enough to keep a check well under 2 s whatever the upload's length.
CONTENT_SAMPLE_SECONDS = 8.0


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
    # This file's picture, mouth and sound compared with the render's, over the stretch where they align.
    content: ContentComparison | None = None


@dataclass(frozen=True)
class ContentComparison:
    """Whether a copy shows the content of the render its watermark names, track by track."""

    checked: tuple[str, ...]  # the tracks on record for the render ("picture", "mouth", "audio")
    mismatched: tuple[str, ...]  # those that differ (a subset of checked, in the same order)
    distances: dict[str, float | None]  # track -> mean Hamming share at the aligned offset
    offset_s: float | None  # where the copy starts in the render
    sync_gap: float | None  # how much better the picture alone fits elsewhere (sound out of step when large)

    @property
    def matches(self) -> bool:
        return not self.mismatched


def content_compare(
    *,
    path: Path,
    reading: watermark.WatermarkReading,
    fingerprint: ContentFingerprint,
    tracks: ContentTracks | None,
    mean_luma: np.ndarray,
) -> tuple[float, ContentComparison | None]:
    """(coarse picture similarity, track comparison or None when the render has no tracks on record) of the file at
    path with a render, placed where the watermark reading and the coarse match put it."""
    scale, mirrored = reading.scale or 1.0, bool(reading.mirrored)
    similarity, offset = content_alignment(fingerprint, mean_luma, scale=scale, mirrored=mirrored)
    if tracks is None:
        return similarity, None
    sound, sound_start = media.video_sound(path, max_seconds=CONTENT_SAMPLE_SECONDS)
    copy = copy_tracks_read(
        media.video_frames_timed(path, max_seconds=CONTENT_SAMPLE_SECONDS),
        sound,
        sound_start,
        render=tracks,
        scale=scale,
        offset=offset,
        mirrored=mirrored,
    )
    compared: TrackComparison = tracks_compare(tracks, copy)
    checked = ("picture", "mouth", "audio") if tracks.audio.size else ("picture", "mouth")
    # The coarse picture speaks for the whole frame, the face track for the face: either differing is "picture".
    mismatched = tuple(
        track
        for track in checked
        if track in compared.mismatched or (track == "picture" and similarity < MATCH_THRESHOLD)
    )
    return similarity, ContentComparison(
        checked=checked,
        mismatched=mismatched,
        distances=compared.distances,
        offset_s=compared.offset_s,
        sync_gap=compared.sync_gap,
    )


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
    media.video_check(media.video_header(path), VERIFY_LIMITS)
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
    similarity, content = None, None
    if by_manifest is None and by_watermark is not None and by_watermark.fingerprint is not None and luma_sums:
        similarity, content = content_compare(
            path=path,
            reading=reading,
            fingerprint=by_watermark.fingerprint,
            tracks=by_watermark.tracks,
            mean_luma=luma_sums[0] / luma_sums[1],
        )
    return Evidence(
        container=container,
        manifest=manifest,
        reading=reading,
        by_manifest=by_manifest,
        by_watermark=by_watermark,
        content_similarity=similarity,
        content=content,
    )
