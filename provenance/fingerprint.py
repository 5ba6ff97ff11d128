"""Compact perceptual fingerprint of a render's picture, to tell a real Candor video from a watermark copied onto other
content.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Long side of the stored thumbnail: 48 x 48 luma bytes at most (2.3 KB). Coarse
# enough to survive re-encoding, scaling and cropping, fine enough to tell two
# faces apart.
THUMB_SIDE = 48
# Normalized correlation (of high-passed thumbnails, best over shifts) above which
# a copy shows the render's content. Measured: the same render after every
# transformation the watermark survives 0.76-1.0 (lowest: the 80% crop, whose
# alignment is off by a fraction of a thumbnail pixel); another portrait or photo
# at most 0.1 (benchmarks/watermark.py prints both).
MATCH_THRESHOLD = 0.6
# Thumbnails are compared on detail, not overall shading, which any two portraits share.
_DETAIL_SIGMA = 2.0


@dataclass(frozen=True)
class ContentFingerprint:
    """A render's mean luma picture at THUMB_SIDE on its long side, and the frame size it was taken at."""

    thumbnail: np.ndarray  # (h, w) uint8
    frame_height: int
    frame_width: int


def frame_luma(frame_rgb: np.ndarray) -> np.ndarray:
    """(H, W) float32 luma of an (H, W, 3) RGB uint8 frame."""
    return frame_rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _thumb_size(height: int, width: int) -> tuple[int, int]:
    factor = THUMB_SIDE / max(height, width)
    return max(1, round(height * factor)), max(1, round(width * factor))


def content_fingerprint(mean_luma: np.ndarray) -> ContentFingerprint:
    """Fingerprint of a render from the (H, W) mean luma of its frames."""
    height, width = mean_luma.shape
    thumb_h, thumb_w = _thumb_size(height, width)
    thumbnail = cv2.resize(mean_luma.astype(np.float32), (thumb_w, thumb_h), interpolation=cv2.INTER_AREA)
    return ContentFingerprint(np.clip(np.rint(thumbnail), 0, 255).astype(np.uint8), height, width)


def _detail(image: np.ndarray) -> np.ndarray:
    image = image.astype(np.float32)
    return image - cv2.GaussianBlur(image, (0, 0), _DETAIL_SIGMA)


def content_similarity(
    fingerprint: ContentFingerprint, mean_luma: np.ndarray, *, scale: float, mirrored: bool = False
) -> float:
    """How well a copy's (h, w) mean luma matches the fingerprinted render (-1..1).

    ``scale`` is the copy's size relative to the render and ``mirrored`` whether it
    was flipped, both as the watermark reading found them; any crop is searched.
    """
    return content_alignment(fingerprint, mean_luma, scale=scale, mirrored=mirrored)[0]


def content_alignment(
    fingerprint: ContentFingerprint, mean_luma: np.ndarray, *, scale: float, mirrored: bool = False
) -> tuple[float, tuple[float, float]]:
    """(similarity as content_similarity gives it, (x, y) in render pixels of the copy's top-left corner).

    The corner is where the copy, un-mirrored and brought back to the render's scale, sits in the render (a crop's
    offset), found to a fraction of a thumbnail pixel by fitting a parabola through the best match and its neighbours.
    """
    if mirrored:
        mean_luma = mean_luma[:, ::-1]
    factor = THUMB_SIDE / max(fingerprint.frame_height, fingerprint.frame_width)
    height, width = mean_luma.shape
    # The copy on the thumbnail's grid: undo its scale, then shrink like the thumbnail.
    copy_h = max(1, round(height / scale * factor))
    copy_w = max(1, round(width / scale * factor))
    copy = cv2.resize(mean_luma.astype(np.float32), (copy_w, copy_h), interpolation=cv2.INTER_AREA)
    reference = fingerprint.thumbnail.astype(np.float32)
    # The smaller picture slides over the larger; a crop of the render fits inside it.
    top = left = 0
    if copy.shape[0] > reference.shape[0] or copy.shape[1] > reference.shape[1]:
        top = max(0, (copy.shape[0] - reference.shape[0]) // 2)
        left = max(0, (copy.shape[1] - reference.shape[1]) // 2)
        copy = copy[top : top + reference.shape[0], left : left + reference.shape[1]]
    if min(copy.shape) < 8:
        return -1.0, (0.0, 0.0)
    scores = cv2.matchTemplate(_detail(reference), _detail(copy), cv2.TM_CCOEFF_NORMED)
    _, best, _, (x, y) = cv2.minMaxLoc(scores)
    return float(best), (
        (x + _peak_offset(scores[y, :], x) - left) / factor,
        (y + _peak_offset(scores[:, x], y) - top) / factor,
    )


def _peak_offset(profile: np.ndarray, at: int) -> float:
    """Sub-pixel position of a maximum, from the parabola through it and its two neighbours (0 at an edge)."""
    if at == 0 or at == profile.size - 1:
        return 0.0
    before, peak, after = (float(v) for v in profile[at - 1 : at + 2])
    curvature = before - 2 * peak + after
    return 0.0 if curvature >= 0 else float(np.clip(0.5 * (before - after) / curvature, -0.5, 0.5))
