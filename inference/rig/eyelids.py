"""The eyelids: each eye's upper lid, sampled over the pixels it covers as it closes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from scipy.interpolate import PchipInterpolator

from .geometry import bounding_box, frozen

# Per eye: corners and upper lid points in order along the eye, lower lid points
# below them, and the brow above.
EYES = {
    "blink_right": ((36, 39), (37, 38), (41, 40), range(17, 22)),
    "blink_left": ((42, 45), (43, 44), (47, 46), range(22, 27)),
}
# A closing lid is drawn from the skin above its lashes, up to this share of
# the way to the brow: short of the brow and mostly of the lid crease.
_LID_SKIN_SHARE = 0.4
# The closing lid starts above the open lid's margin to cover its lashes: by
# this share of the eye's height, at least the minimum (px).
_LID_OVERLAP = 0.3
_LID_OVERLAP_MIN_PX = 2.0


@dataclass(frozen=True, eq=False)
class Eyelid:
    """One eye's upper lid, sampled over the pixels it can cover (arrays (h, w), read-only).

    Depths are px along ``down`` from the line through the eye's corners; a
    closure c puts the lid margin at ``lid + c * travel``.
    """

    box: tuple[int, int, int, int]  # x, y, w, h of the sampled pixels
    foot: np.ndarray  # (h, w, 2) float32 image point on the corner line above each pixel
    down: np.ndarray  # (2,) float32 unit vector from the corner line towards the lower lid
    depth: np.ndarray  # (h, w) float32 each pixel's own depth
    lid: np.ndarray  # (h, w) float32 depth of the open upper lid's margin in the pixel's column
    travel: np.ndarray  # (h, w) float32 distance the margin travels to the lower lid (0 beyond the corners)
    skin: np.ndarray  # (h, w) float32 height of the skin above the lashes that the closing lid shows
    overlap: float  # px above the open margin where the closing lid starts (covering the lashes)


def build_eyelid(
    shape: tuple[int, int],
    landmarks: np.ndarray,
    corners: tuple[int, int],
    upper_lid: tuple[int, int],
    lower_lid: tuple[int, int],
    brow: range,
) -> Eyelid | None:
    """The upper lid of one eye, or None where the landmarks show no open eye to close."""
    start, end = landmarks[corners[0]].astype(np.float64), landmarks[corners[1]].astype(np.float64)
    length = float(np.linalg.norm(end - start))
    if length < 2.0:
        return None
    along = (end - start) / length
    down = np.array([-along[1], along[0]])

    def local(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Position along the eye (0 at one corner, 1 at the other) and depth (px) of points (..., 2)."""
        offset = np.asarray(points, np.float64) - start
        return offset @ along / length, offset @ down

    curves = []
    for lid in (upper_lid, lower_lid):
        s, r = local(landmarks[list(lid)])
        if not 0 < s[0] < s[1] < 1:
            return None  # lid points out of order along the eye: a failed fit
        curves.append(PchipInterpolator([0.0, *s, 1.0], [0.0, *r, 0.0]))
    upper, lower = curves
    samples = np.linspace(0, 1, 33)
    height = float(np.max(lower(samples) - upper(samples)))
    if height < 1.0:
        return None  # closed in the photo already
    overlap = max(_LID_OVERLAP * height, _LID_OVERLAP_MIN_PX)
    brow_s, brow_r = local(landmarks[list(brow)])
    order = np.argsort(brow_s)

    def skin(s: np.ndarray) -> np.ndarray:
        to_brow = upper(s) - np.interp(s, brow_s[order], brow_r[order])
        return cast(np.ndarray, np.maximum(_LID_SKIN_SHARE * to_brow - overlap, 1.0))

    top = float(np.min(upper(samples))) - overlap - 1
    bottom = float(np.max(lower(samples))) + 1
    box = bounding_box(
        np.array([start + top * down, start + bottom * down, end + top * down, end + bottom * down]), shape
    )
    x, y, w, h = box
    if not w or not h:
        return None
    ys, xs = np.mgrid[y : y + h, x : x + w]
    s, depth = local(np.stack([xs, ys], axis=-1))
    within = (s > 0) & (s < 1)
    s = np.clip(s, 0, 1)
    lid = upper(s)
    return Eyelid(
        box=box,
        foot=frozen((start + (s * length)[..., None] * along).astype(np.float32)),
        down=frozen(down.astype(np.float32)),
        depth=frozen(depth.astype(np.float32)),
        lid=frozen(lid.astype(np.float32)),
        travel=frozen(np.where(within, np.maximum(lower(s) - lid, 0.0), 0.0).astype(np.float32)),
        skin=frozen(skin(s).astype(np.float32)),
        overlap=overlap,
    )
