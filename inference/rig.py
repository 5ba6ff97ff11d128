"""Per-portrait animation rig: the resized photo, its landmarks and dense displacement fields for a warp."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import cv2
import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.spatial import Delaunay

from .faces import face_single

# Animation parameters, each 0..1. Left and right are the person's own (iBUG
# convention): "blink_left" closes the eye on the image's right (points 42-47).
PARAMETERS = ("jaw_open", "blink_left", "blink_right")

# iBUG 68-point indices.
_CHIN = 8
_NOSE_TIP = 33
_BROWS = range(17, 27)
# The mesh keeps the lip corners; the lip contours between them are resampled.
_MESH_LANDMARKS = tuple(i for i in range(68) if i < 48 or i in (48, 54, 60, 64))
_LIP_CHAINS = {  # corner to corner, image left to right
    "upper_outer": (48, 49, 50, 51, 52, 53, 54),
    "lower_outer": (48, 59, 58, 57, 56, 55, 54),
    "upper_inner": (60, 61, 62, 63, 64),
    "lower_inner": (60, 67, 66, 65, 64),
}
# Per eye: corners and upper lid points in order along the eye, lower lid points
# below them, and the brow above.
_EYES = {
    "blink_right": ((36, 39), (37, 38), (41, 40), range(17, 22)),
    "blink_left": ((42, 45), (43, 44), (47, 46), range(22, 27)),
}

# Drop of the lower lip's centre at jaw_open = 1, in mouth widths: a wide "ah".
_JAW_DROP = 0.3
# The chin swings further from the jaw hinge than the lip does.
_CHIN_GAIN = 1.05
# Mouth corners follow the jaw a little and pull inward (share of the mouth
# width) as the mouth rounds open; the upper lip's centre lifts a little.
_CORNER_DROP = 0.3
_CORNER_INWARD = 0.04
_UPPER_LIFT = 0.12
# Lip contours are resampled at this many points between the corners so the
# moving lower lip keeps its curve instead of bending at the 68 landmarks.
_LIP_SAMPLES = 15
# Closed lips are one line in the photo; the mesh needs them apart to give the
# upper lip (still) and the lower lip (moving) their own vertices.
_LIP_SEPARATION_PX = 1.0
# Anchor ellipse around the face in face half-sizes: wide at the sides so the
# jaw's shear of the background beside it stays gentle, long below the chin so
# the neck absorbs the chin's drop without visible squashing.
_RING_SIDE, _RING_TOP, _RING_BOTTOM = 1.45, 1.3, 2.1
_RING_POINTS = 40
# Gaussian smoothing of the jaw field (share of the face width), and the
# displacement (px) below which a pixel counts as still.
_FIELD_SMOOTHING = 0.05
_STILL_BELOW_PX = 0.01
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


@dataclass(frozen=True, eq=False)
class PortraitRig:
    """Everything the renderer needs about one portrait, at output resolution (read-only arrays).

    jaw_open poses by backward mapping: the image is resampled at
    ``grid - jaw_open * fields["jaw_open"]``, and the mouth cavity is painted where
    the lips parted. Blinks pose the eyelids (a lid closing is not a linear field).
    """

    image: np.ndarray  # (H, W, 3) uint8 RGB, H and W even
    landmarks: np.ndarray  # (68, 2) float32 (x, y) in image pixels, iBUG order
    fields: Mapping[str, np.ndarray]  # warp parameter -> (H, W, 2) float32 (dx, dy) at parameter 1
    roi: tuple[int, int, int, int]  # x, y, w, h: every field is zero outside it
    eyelids: Mapping[str, Eyelid]  # blink parameter -> its eye (absent for an eye closed in the photo)
    cavity_rest: np.ndarray  # (K, 2) float32 polygon between the lips at rest (no area when closed)
    cavity_motion: Mapping[str, np.ndarray]  # warp parameter -> (K, 2) float32 motion of cavity_rest at 1
    cavity_gap: tuple[int, int]  # cavity vertices facing each other across the gap's middle: still, moving
    lip_colour: np.ndarray  # (3,) float32 mean RGB of the lips


def portrait_rig(image: np.ndarray, *, max_side: int = 512) -> PortraitRig:
    """Rig for an RGB uint8 portrait (H, W, 3) of one person, resized so its longest side is max_side."""
    face = face_single(image)  # on the original: landmarks are sharper at full resolution
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    out_w, out_h = _even(width * scale), _even(height * scale)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(image, (out_w, out_h), interpolation=interpolation)
    # Pixel centres map onto pixel centres.
    factor = np.array([out_w / width, out_h / height], dtype=np.float32)
    landmarks = (face.landmarks + 0.5) * factor - 0.5
    return _rig(resized, landmarks.astype(np.float32))


def _even(length: float) -> int:
    return max(2, 2 * round(length / 2))


def _rig(image: np.ndarray, landmarks: np.ndarray) -> PortraitRig:
    shape = image.shape[:2]
    axes = _FaceAxes(landmarks)
    mesh = _JawMesh(axes.to_local(landmarks))
    mesh.add_anchors(axes.to_local(_border(shape)))
    roi, jaw = mesh.dense_field(shape, axes)
    eyelids = {name: _eyelid(shape, landmarks, *eye) for name, eye in _EYES.items()}
    return PortraitRig(
        image=_frozen(image),
        landmarks=_frozen(landmarks),
        fields=MappingProxyType({"jaw_open": _frozen(jaw)}),
        roi=roi,
        eyelids=MappingProxyType({name: lid for name, lid in eyelids.items() if lid is not None}),
        cavity_rest=_frozen(axes.to_image(mesh.points[mesh.cavity]).astype(np.float32)),
        cavity_motion=MappingProxyType(
            {"jaw_open": _frozen(axes.vectors_to_image(mesh.motion[mesh.cavity]).astype(np.float32))}
        ),
        cavity_gap=mesh.cavity_gap,
        lip_colour=_frozen(_lip_colour(image, landmarks)),
    )


class _FaceAxes:
    """The face's own axes: x along the eyes, y down the face, so a tilted head drops its jaw along its own y."""

    def __init__(self, landmarks: np.ndarray):
        across = landmarks[42:48].mean(axis=0) - landmarks[36:42].mean(axis=0)
        self.x = across / max(float(np.linalg.norm(across)), 1e-6)
        self.y = np.array([-self.x[1], self.x[0]])
        self.origin = landmarks[48:68].mean(axis=0).astype(np.float64)

    def to_local(self, points: np.ndarray) -> np.ndarray:
        offset = np.asarray(points, np.float64) - self.origin
        return np.stack([offset @ self.x, offset @ self.y], axis=-1)

    def to_image(self, points: np.ndarray) -> np.ndarray:
        return self.origin + self.vectors_to_image(points)

    def vectors_to_image(self, vectors: np.ndarray) -> np.ndarray:
        return vectors[..., :1] * self.x + vectors[..., 1:] * self.y


class _JawMesh:
    """Control points in face axes with their motion at jaw_open = 1, interpolated piecewise-linearly.

    The lips are four resampled contours; the inner ones are kept apart so the
    lip gap is a seam between a still and a moving side of the mesh.
    """

    def __init__(self, local: np.ndarray):
        self.local = local
        self.width = float(local[54, 0] - local[48, 0])  # of the mouth
        self.drop = _JAW_DROP * self.width
        self.points = local[list(_MESH_LANDMARKS)].copy()
        self.motion = np.array([self._landmark_motion(index) for index in _MESH_LANDMARKS])
        self._add_lips()

    def _landmark_motion(self, index: int) -> np.ndarray:
        local = self.local
        if index in (48, 60, 54, 64):
            inward = 1.0 if index in (48, 60) else -1.0
            return np.array([inward * _CORNER_INWARD * self.width, _CORNER_DROP * self.drop])
        if index < 17:
            # The jaw line hinges below the ears: from nothing at the nose tip's
            # height to the full drop at the chin.
            top, chin = local[_NOSE_TIP, 1], local[_CHIN, 1]
            reach = np.clip((local[index, 1] - top) / max(chin - top, 1.0), 0.0, 1.0)
            return np.array([0.0, _CHIN_GAIN * self.drop * reach**1.5])
        return np.zeros(2)

    def _lip_motion(self, points: np.ndarray, lower: bool) -> np.ndarray:
        """(n, 2) motion of lip contour points (n, 2), matching the corners' motion at the corners.

        The gap between the lips opens as a lens between the inner corners: the
        lower lip drops most at its centre, the upper lip lifts a little there;
        from the inner corners outwards both lips move as the corners do.
        """
        left, right = self.local[60, 0], self.local[64, 0]
        centre, half = (left + right) / 2, max((right - left) / 2, 1.0)
        u = np.clip(np.abs(points[:, 0] - centre) / half, 0.0, 1.0)
        corner = u * u
        inward = -np.sign(points[:, 0] - centre) * _CORNER_INWARD * self.width * corner
        if lower:
            drop = self.drop * (1 - (1 - _CORNER_DROP) * corner)
        else:
            drop = self.drop * (_CORNER_DROP * corner - _UPPER_LIFT * (1 - corner))
        return np.stack([inward, drop], axis=1)

    def _add_lips(self) -> None:
        local = self.local
        chains = {}
        for name, indices in _LIP_CHAINS.items():
            left, right = local[indices[0], 0], local[indices[-1], 0]
            xs = np.linspace(left, right, _LIP_SAMPLES + 2)[1:-1]
            chains[name] = np.stack([xs, _curve(local[list(indices)], xs)], axis=1)
        upper, lower = chains["upper_inner"], chains["lower_inner"].copy()
        gap = lower[:, 1] - upper[:, 1]
        # Where the photo's lips are parted (teeth show) what lies between them
        # stays with the upper jaw: the new gap opens just above the lower lip.
        parted = gap >= 2 * _LIP_SEPARATION_PX
        lower[:, 1] = np.maximum(lower[:, 1], upper[:, 1] + _LIP_SEPARATION_PX)
        self._extend(chains["upper_outer"], self._lip_motion(chains["upper_outer"], lower=False))
        upper_motion = self._lip_motion(upper, lower=False)
        upper_rows = self._extend(upper, upper_motion)
        still_rows = upper_rows.copy()
        still_rows[parted] = self._extend(lower[parted] - (0.0, _LIP_SEPARATION_PX), upper_motion[parted])
        lower_rows = self._extend(lower, self._lip_motion(lower, lower=True))
        self._extend(chains["lower_outer"], self._lip_motion(chains["lower_outer"], lower=True))
        left, right = (_MESH_LANDMARKS.index(corner) for corner in (60, 64))
        # Cavity polygon: left corner, still edge left to right, right corner, lower lip back.
        self.cavity = np.array([left, *still_rows, right, *lower_rows[::-1]])
        middle = _LIP_SAMPLES // 2
        self.cavity_gap = (1 + middle, len(self.cavity) - 1 - middle)

    def _extend(self, points: np.ndarray, motion: np.ndarray) -> np.ndarray:
        start = len(self.points)
        self.points = np.vstack([self.points, points])
        self.motion = np.vstack([self.motion, motion])
        return np.arange(start, len(self.points))

    def add_anchors(self, border: np.ndarray) -> None:
        """Fix a ring around face and neck, and the image border (local coordinates): nothing outside the ring moves."""
        local = self.local
        jaw = local[:17]
        top, bottom = local[list(_BROWS), 1].min(), local[_CHIN, 1]
        centre = np.array([(jaw[:, 0].min() + jaw[:, 0].max()) / 2, (top + bottom) / 2])
        half_w, half_h = (jaw[:, 0].max() - jaw[:, 0].min()) / 2, (bottom - top) / 2
        angles = np.linspace(0, 2 * np.pi, _RING_POINTS, endpoint=False)
        sin = np.sin(angles)
        ring = np.stack([
            centre[0] + _RING_SIDE * half_w * np.cos(angles),
            centre[1] + half_h * sin * np.where(sin > 0, _RING_BOTTOM, _RING_TOP),
        ], axis=1)
        anchors = np.vstack([ring, border])
        self._extend(anchors, np.zeros_like(anchors))

    def dense_field(self, shape: tuple[int, int], axes: _FaceAxes) -> tuple[tuple[int, int, int, int], np.ndarray]:
        """The region (x, y, w, h) where the jaw moves anything, and its (H, W, 2) float32 field in image axes."""
        triangles = Delaunay(self.points)
        moving = np.any(self.motion != 0, axis=1)
        touched = axes.to_image(self.points[triangles.simplices[moving[triangles.simplices].any(axis=1)].ravel()])
        jaw_width = float(np.ptp(self.local[:17, 0]))
        sigma = max(_FIELD_SMOOTHING * jaw_width, 0.5)
        reach = 3 * sigma
        x, y, w, h = _box(np.vstack([touched.min(axis=0) - reach, touched.max(axis=0) + reach]), shape)
        ys, xs = np.mgrid[y : y + h, x : x + w]
        pixels = axes.to_local(np.stack([xs.ravel(), ys.ravel()], axis=1))
        simplex = triangles.find_simplex(pixels)
        transform = triangles.transform[simplex]
        partial = np.einsum("nij,nj->ni", transform[:, :2], pixels - transform[:, 2])
        weights = np.concatenate([partial, 1 - partial.sum(axis=1, keepdims=True)], axis=1)
        motion = np.einsum("nk,nkc->nc", weights, self.motion[triangles.simplices[simplex]])
        linear = axes.vectors_to_image(motion).reshape(h, w, 2).astype(np.float32)
        # Smoothing hides the mesh's creases (straight lines in the photo would
        # bend at triangle edges) but must not blur across the lip gap, where
        # the field steps from still to moving: the lips keep the exact field.
        lips = np.zeros((h, w), np.uint8)
        cv2.fillPoly(lips, [np.round(axes.to_image(self.local[48:60]) - (x, y)).astype(np.int32)], 1)
        size = 2 * int(np.ceil(reach)) + 1
        lips = cv2.dilate(lips, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
        exact = cv2.GaussianBlur(lips.astype(np.float32), (0, 0), sigma)[..., None]
        smooth = exact * linear + (1 - exact) * cv2.GaussianBlur(linear, (0, 0), sigma)
        # Blurring leaves traces far below a pixel around the face: the background stays exactly still.
        smooth[np.linalg.norm(smooth, axis=2) < _STILL_BELOW_PX] = 0.0
        field = np.zeros((*shape, 2), np.float32)
        field[y : y + h, x : x + w] = smooth
        rows, columns = np.nonzero(np.any(smooth != 0, axis=2))
        return _box(np.stack([columns + x, rows + y], axis=1), shape), field


def _eyelid(shape: tuple[int, int], landmarks: np.ndarray, corners, upper_lid, lower_lid, brow) -> Eyelid | None:
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
        return np.maximum(_LID_SKIN_SHARE * to_brow - overlap, 1.0)

    top = float(np.min(upper(samples))) - overlap - 1
    bottom = float(np.max(lower(samples))) + 1
    box = _box(np.array([start + top * down, start + bottom * down, end + top * down, end + bottom * down]), shape)
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
        foot=_frozen((start + (s * length)[..., None] * along).astype(np.float32)),
        down=_frozen(down.astype(np.float32)),
        depth=_frozen(depth.astype(np.float32)),
        lid=_frozen(lid.astype(np.float32)),
        travel=_frozen(np.where(within, np.maximum(lower(s) - lid, 0.0), 0.0).astype(np.float32)),
        skin=_frozen(skin(s).astype(np.float32)),
        overlap=overlap,
    )


def _curve(points: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """y of a smooth curve through points (n, 2) at xs; points out of x order fall back to straight segments."""
    if np.all(np.diff(points[:, 0]) > 0):
        return PchipInterpolator(points[:, 0], points[:, 1])(xs)
    order = np.argsort(points[:, 0])
    return np.interp(xs, points[order, 0], points[order, 1])


def _border(shape: tuple[int, int]) -> np.ndarray:
    """(8, 2) points just outside the image so every pixel lies inside the mesh."""
    height, width = shape
    xs, ys = (-1.0, width / 2, float(width)), (-1.0, height / 2, float(height))
    return np.array([(x, y) for x in xs for y in ys if (x, y) != (width / 2, height / 2)])


def _box(points: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """Pixel bounding box (x, y, w, h) of points (n, 2), clipped to an image of shape (H, W)."""
    x0 = int(np.clip(np.floor(points[:, 0].min()), 0, shape[1]))
    y0 = int(np.clip(np.floor(points[:, 1].min()), 0, shape[0]))
    x1 = int(np.clip(np.ceil(points[:, 0].max()) + 1, 0, shape[1]))
    y1 = int(np.clip(np.ceil(points[:, 1].max()) + 1, 0, shape[0]))
    return x0, y0, max(x1 - x0, 0), max(y1 - y0, 0)


def _lip_colour(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(3,) float32 mean RGB between the outer and inner lip contours."""
    outer = np.round(landmarks[48:60]).astype(np.int32)
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [outer], 1)
    cv2.fillPoly(mask, [np.round(landmarks[60:68]).astype(np.int32)], 0)
    if not mask.any():  # lips thinner than a pixel: take the whole mouth
        cv2.fillPoly(mask, [outer], 1)
    return image[mask.astype(bool)].mean(axis=0).astype(np.float32)


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array
