"""The face mesh: control points in face axes, their motion per face parameter, and the dense fields from them."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.spatial import Delaunay

from .geometry import (
    BROWS,
    CHEEKS,
    CHIN,
    INNER_BROWS,
    NOSE_TIP,
    FaceAxes,
    bounding_box,
    flush_subnormals,
    smooth_curve,
    weights_inside,
)
from .parameters import FACE_PARAMETERS

# The mesh keeps the lip corners; the lip contours between them are resampled.
MESH_LANDMARKS = tuple(i for i in range(68) if i < 48 or i in (48, 54, 60, 64))
_LIP_CHAINS = {  # corner to corner, image left to right
    "upper_outer": (48, 49, 50, 51, 52, 53, 54),
    "lower_outer": (48, 59, 58, 57, 56, 55, 54),
    "upper_inner": (60, 61, 62, 63, 64),
    "lower_inner": (60, 67, 66, 65, 64),
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
# Lip shapes, in mouth widths: spreading pulls the corners out and thins the
# lips; rounding pulls them in and pushes the lips out (up and down) without
# parting them (a rounded vowel's opening is the jaw's, and a bilabial
# beside it stays shut); lip-teeth contact lifts the upper lip off the teeth
# and the lower lip up to them.
_SPREAD_OUT, _SPREAD_THIN = 0.09, 0.015
_ROUND_IN, _ROUND_PUSH = 0.11, 0.03
_DENTAL_LIFT, _DENTAL_RISE = 0.075, 0.02
# Expressions, in mouth widths (lips, cheeks) and eye distances (brows).
_SMILE_OUT, _SMILE_UP, _SMILE_CHEEK = 0.07, 0.08, 0.03
_SERIOUS_IN, _SERIOUS_DOWN, _SERIOUS_PRESS = 0.02, 0.035, 0.01
_SERIOUS_BROW_DOWN, _SERIOUS_BROW_IN = 0.05, 0.03
_BROW_LIFT = 0.11
# Lip contours are resampled at this many points between the corners so the
# moving lower lip keeps its curve instead of bending at the 68 landmarks.
_LIP_SAMPLES = 15
# Closed lips are one line in the photo; the mesh needs them apart to give the
# upper lip (still) and the lower lip (moving) their own vertices.
_LIP_SEPARATION_PX = 1.0
# Lips parted by at least this (px) show the inside of the mouth: the rig closes them.
PARTED_PX = 2.0
# The widest the lips stay parted at rest, in eye distances: a natural slight
# parting (the quality judge counts lips closed below 0.05).
_REST_PARTING = 0.04
# Parted lips close pressed together by this much (px), so that no rim of
# their inner edges (shaded by the teeth behind them) reads as a gap.
_LIP_PRESS_PX = 0.75
# Share of the gap between parted lips that the upper lip covers as they
# close, and the smoothing (Gaussian, mouth widths) of the gap's profile
# along the lips' outer edges.
_UPPER_LIP_SHARE = 0.4
_OUTER_LIP_SMOOTHING = 0.08
# Anchor ellipse around the face in face half-sizes: wide at the sides so the
# jaw's shear of the background beside it stays gentle; below the chin it
# reaches down the neck only so far that the collar never moves.
_RING_SIDE, _RING_TOP, _RING_BOTTOM = 1.45, 1.3, 1.75
_RING_POINTS = 40
# Gaussian smoothing of the face fields (share of the face width), and the
# displacement (px) below which a pixel counts as still.
_FIELD_SMOOTHING = 0.05
_STILL_BELOW_PX = 0.01
# Face parameters leave the eye corners still: around each corner the field
# is kept exact rather than smoothed (Gaussian radius, eye distances).
_EYE_CORNERS = (36, 39, 42, 45)
_EYE_CORNER_ANCHOR = 0.1


def lip_contour(local: np.ndarray, name: str, xs: np.ndarray) -> np.ndarray:
    """(len(xs),) y of a lip contour (a _LIP_CHAINS name) at xs, as the mesh draws it through landmarks (68, 2)."""
    return smooth_curve(local[list(_LIP_CHAINS[name])], xs)


def inner_lip_xs(local: np.ndarray) -> np.ndarray:
    """(_LIP_SAMPLES,) x of the mesh's inner lip points between the mouth's inner corners, landmarks (68, 2)."""
    return _chain_xs(local, _LIP_CHAINS["upper_inner"])


def _chain_xs(local: np.ndarray, indices: tuple[int, ...]) -> np.ndarray:
    return np.linspace(local[indices[0], 0], local[indices[-1], 0], _LIP_SAMPLES + 2)[1:-1]


class FaceMesh:
    """Control points in face axes with their motion per face parameter, interpolated piecewise-linearly.

    The lips are four resampled contours; the inner ones are kept apart so the
    lip gap is a seam between a still and a moving side of the mesh. Where the
    photo's lips are parted, ``closing`` moves them together; after close() the
    mesh stands on the closed lips and a last motion, the rest pose, reopens them.
    """

    # Rows of self.points of each lip contour (set per _LIP_CHAINS name).
    upper_outer: np.ndarray
    lower_outer: np.ndarray
    upper_inner: np.ndarray
    lower_inner: np.ndarray

    def __init__(self, local: np.ndarray, inner_edges: np.ndarray | None = None) -> None:
        """local: (68, 2) landmarks in face axes; inner_edges: (2, _LIP_SAMPLES) y of the upper and lower lips'
        inner edges at inner_lip_xs(local) where the photo shows them (see mouth.inner_lips_refined), else None
        for the predictor's inner contour."""
        self.local = local
        self.width = float(local[54, 0] - local[48, 0])  # of the mouth
        self.eyes = float(np.linalg.norm(local[42:48].mean(axis=0) - local[36:42].mean(axis=0)))
        self.drop = _JAW_DROP * self.width
        self.points = local[list(MESH_LANDMARKS)].copy()
        self.kinds = ["landmark"] * len(self.points)
        chains = {}
        for name, indices in _LIP_CHAINS.items():
            xs = _chain_xs(local, indices)
            chains[name] = np.stack([xs, smooth_curve(local[list(indices)], xs)], axis=1)
        upper, lower = chains["upper_inner"], chains["lower_inner"]
        if inner_edges is not None:
            upper[:, 1], lower[:, 1] = inner_edges
        gap = lower[:, 1] - upper[:, 1]
        self.parted = bool(gap.max() >= PARTED_PX)
        lower[:, 1] = np.maximum(lower[:, 1], upper[:, 1] + _LIP_SEPARATION_PX)
        # Closing parted lips: each lip moves whole (inner and outer edge
        # alike), so it keeps its own thickness and the skin beside it takes
        # up the change; the upper lip covers a smaller share of the gap than
        # the lower lip, which the jaw carries. Towards the corners the gap
        # tapers to nothing; along the outer edges its profile is smoothed,
        # so the skin beside the corners stretches gently.
        gap_x = np.concatenate([[local[60, 0]], upper[:, 0], [local[64, 0]]])
        shut = np.concatenate(
            [[0.0], np.maximum(lower[:, 1] - upper[:, 1] - _LIP_SEPARATION_PX + _LIP_PRESS_PX, 0.0), [0.0]]
        )
        outer_x = np.linspace(local[48, 0], local[54, 0], 8 * _LIP_SAMPLES)
        outer_shut = gaussian_filter1d(
            np.interp(outer_x, gap_x, shut, left=0.0, right=0.0),
            _OUTER_LIP_SMOOTHING * self.width / (outer_x[1] - outer_x[0]),
            mode="constant",
        )
        for name, points in chains.items():
            setattr(self, name, self._extend(points, name))
        self.closing = np.zeros_like(self.points)
        for name in _LIP_CHAINS:
            rows = getattr(self, name)
            if name.endswith("inner"):
                share = np.interp(self.points[rows, 0], gap_x, shut, left=0.0, right=0.0)
            else:
                share = np.interp(self.points[rows, 0], outer_x, outer_shut)
            self.closing[rows, 1] = (
                _UPPER_LIP_SHARE * share if name.startswith("upper") else -(1 - _UPPER_LIP_SHARE) * share
            )
        self.rest = np.zeros_like(self.points)
        self.photo = np.zeros_like(self.points)

    def _extend(self, points: np.ndarray, kind: str) -> np.ndarray:
        start = len(self.points)
        self.points = np.vstack([self.points, points])
        self.kinds.extend([kind] * len(points))
        return np.arange(start, len(self.points))

    def close(self) -> None:
        """Stand the mesh on the closed lips; the rest pose reopens them to the photo's parting, at most a slight one.

        A photo taken mid-word or with a broad smile would otherwise hold its
        opening whenever the speech does not move the lips: the rest keeps at
        most _REST_PARTING eye distances of it, and ``photo`` is the whole.
        """
        self.points = self.points + self.closing
        self.photo = -self.closing
        widest = float(np.max(self.closing[self.upper_inner, 1] - self.closing[self.lower_inner, 1], initial=0.0))
        self.rest = self.photo * min(1.0, _REST_PARTING * self.eyes / max(widest, 1e-6))

    def add_anchors(self, border: np.ndarray) -> None:
        """Fix a ring around face and neck, and the image border (local coordinates): nothing outside the ring moves."""
        local = self.local
        jaw = local[:17]
        top, bottom = local[list(BROWS), 1].min(), local[CHIN, 1]
        centre = np.array([(jaw[:, 0].min() + jaw[:, 0].max()) / 2, (top + bottom) / 2])
        half_w, half_h = (jaw[:, 0].max() - jaw[:, 0].min()) / 2, (bottom - top) / 2
        angles = np.linspace(0, 2 * np.pi, _RING_POINTS, endpoint=False)
        sin = np.sin(angles)
        ring = np.stack(
            [
                centre[0] + _RING_SIDE * half_w * np.cos(angles),
                centre[1] + half_h * sin * np.where(sin > 0, _RING_BOTTOM, _RING_TOP),
            ],
            axis=1,
        )
        self._extend(np.vstack([ring, border]), "anchor")
        self.closing = np.vstack([self.closing, np.zeros((len(ring) + len(border), 2))])
        self.rest = np.vstack([self.rest, np.zeros((len(ring) + len(border), 2))])
        self.photo = np.vstack([self.photo, np.zeros((len(ring) + len(border), 2))])

    def motions(self) -> np.ndarray:
        """(len(FACE_PARAMETERS) + 1, n, 2) motion of every point per face parameter at 1, then the rest pose."""
        motion = np.zeros((len(FACE_PARAMETERS) + 1, len(self.points), 2))
        index = {name: i for i, name in enumerate(FACE_PARAMETERS)}
        mouth_centre = (self.points[MESH_LANDMARKS.index(60), 0] + self.points[MESH_LANDMARKS.index(64), 0]) / 2
        half = max((self.points[MESH_LANDMARKS.index(64), 0] - self.points[MESH_LANDMARKS.index(60), 0]) / 2, 1.0)
        W, E = self.width, self.eyes
        for row, (point, kind) in enumerate(zip(self.points, self.kinds, strict=False)):
            if kind == "anchor":
                continue
            landmark = MESH_LANDMARKS[row] if kind == "landmark" else -1  # -1: a lip contour point
            lips = kind != "landmark" or landmark in (48, 54, 60, 64)
            if lips:
                side = np.sign(point[0] - mouth_centre)
                u = 1.0 if kind == "landmark" else float(np.clip(abs(point[0] - mouth_centre) / half, 0.0, 1.0))
                corner, centre = u * u, 1 - u * u
                upper = kind.startswith("upper")
                lower = kind.startswith("lower")
                outer = kind.endswith("outer")
                motion[index["jaw_open"], row] = self._jaw_lip(side, corner, lower)
                thin = _SPREAD_THIN * W * centre * outer * (1 if upper else -1 if lower else 0)
                motion[index["lip_spread"], row] = (side * _SPREAD_OUT * W * u, thin - 0.015 * W * corner)
                push = _ROUND_PUSH * W * centre * outer
                motion[index["lip_round"], row] = (
                    -side * _ROUND_IN * W * u,
                    -push if upper else push if lower else 0.0,
                )
                dental = -(_DENTAL_LIFT if upper else _DENTAL_RISE if lower else 0.0) * W * centre
                motion[index["lip_dental"], row] = (0.0, dental * (0.7 if outer else 1.0))
                motion[index["smile"], row] = (side * _SMILE_OUT * W * corner, -_SMILE_UP * W * corner)
                press = _SERIOUS_PRESS * W * centre * outer * (1 if upper else -1 if lower else 0)
                motion[index["serious"], row] = (-side * _SERIOUS_IN * W * corner, _SERIOUS_DOWN * W * corner + press)
            elif landmark < 17:
                motion[index["jaw_open"], row] = self._jaw_line(landmark)
                if landmark in CHEEKS:
                    side = -1.0 if landmark < 8 else 1.0
                    motion[index["smile"], row] = (side * 0.3 * _SMILE_CHEEK * W, -_SMILE_CHEEK * W)
            elif landmark in BROWS:
                inner = landmark in INNER_BROWS
                motion[index["brow_raise"], row] = (0.0, -_BROW_LIFT * E * (1.0 if inner else 0.8))
                toward = 1.0 if landmark < 22 else -1.0
                motion[index["serious"], row] = (
                    toward * _SERIOUS_BROW_IN * E * inner,
                    _SERIOUS_BROW_DOWN * E * (1.0 if inner else 0.6),
                )
        motion[index["lip_close"]] = -self.rest
        motion[-1] = self.rest
        return motion

    def _jaw_lip(self, side: float, corner: float, lower: bool) -> tuple[float, float]:
        """Motion of a lip point at jaw_open = 1: the lower lip drops most at its centre, corners follow a little."""
        inward = -side * _CORNER_INWARD * self.width * corner
        if lower:
            return inward, self.drop * (1 - (1 - _CORNER_DROP) * corner)
        return inward, self.drop * (_CORNER_DROP * corner - _UPPER_LIFT * (1 - corner))

    def _jaw_line(self, index: int) -> tuple[float, float]:
        # The jaw line hinges below the ears: from nothing at the nose tip's
        # height to the full drop at the chin.
        local = self.local
        top, chin = local[NOSE_TIP, 1], local[CHIN, 1]
        reach = np.clip((local[index, 1] - top) / max(chin - top, 1.0), 0.0, 1.0)
        return 0.0, _CHIN_GAIN * self.drop * reach**1.5

    def dense_fields(
        self, shape: tuple[int, int], axes: FaceAxes, triangles: Delaunay
    ) -> tuple[tuple[int, int, int, int], np.ndarray]:
        """The region (x, y, w, h) where any face parameter moves anything, and the (P + 1, h, w, 2) float32 fields
        there."""
        motions = self.motions()
        moving = np.any(motions != 0, axis=(0, 2))
        touched = axes.to_image(self.points[triangles.simplices[moving[triangles.simplices].any(axis=1)].ravel()])
        jaw_width = float(np.ptp(self.local[:17, 0]))
        sigma = max(_FIELD_SMOOTHING * jaw_width, 0.5)
        reach = 3 * sigma
        x, y, w, h = bounding_box(np.vstack([touched.min(axis=0) - reach, touched.max(axis=0) + reach]), shape)
        ys, xs = np.mgrid[y : y + h, x : x + w]
        pixels = axes.to_local(np.stack([xs.ravel(), ys.ravel()], axis=1))
        # Each pixel moves with the triangle its centre lies in: drawing the triangles gave the pixels on their edges to
        # either neighbour, so along the lips' seam some took the other lip's motion and fetched specks from across it.
        simplex = triangles.find_simplex(pixels)
        transform = triangles.transform[simplex]
        partial = np.einsum("nij,nj->ni", transform[:, :2], pixels - transform[:, 2])
        # A pixel on a sliver's edge, put in the sliver by round-off, would extrapolate its steep motion.
        weights = weights_inside(np.concatenate([partial, 1 - partial.sum(axis=1, keepdims=True)], axis=1))
        vertices = triangles.simplices[simplex]
        # Smoothing hides the mesh's creases (straight lines in the photo would
        # bend at triangle edges) but must not blur across the lip gap, where
        # the field steps from still to moving: the lips keep the exact field.
        lips: np.ndarray = np.zeros((h, w), np.uint8)
        cv2.fillPoly(lips, [np.round(axes.to_image(self.local[48:60]) - (x, y)).astype(np.int32)], 1)
        size = 2 * int(np.ceil(reach)) + 1
        lips = cv2.dilate(lips, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
        exact = cv2.GaussianBlur(lips.astype(np.float32), (0, 0), sigma)
        # The eye corners are tied to the skull: around them the exact field
        # (still at the corners) keeps the brows' smoothed motion off them.
        corners = axes.to_image(self.local[list(_EYE_CORNERS)]) - (x, y)
        nearest = np.min([(xs - x - cx) ** 2 + (ys - y - cy) ** 2 for cx, cy in corners], axis=0)
        exact = np.maximum(exact, np.exp(-0.5 * nearest / (_EYE_CORNER_ANCHOR * self.eyes) ** 2)).astype(np.float32)[
            ..., None
        ]
        fields = np.zeros((len(motions), h, w, 2), np.float32)
        for i, motion in enumerate(motions):
            if not motion.any():
                continue
            local = np.einsum("nk,nkc->nc", weights, motion[vertices])
            linear = axes.vectors_to_image(local).reshape(h, w, 2).astype(np.float32)
            smooth = exact * linear + (1 - exact) * cv2.GaussianBlur(linear, (0, 0), sigma)
            # Blurring leaves traces far below a pixel around the face: the background stays exactly still.
            smooth[np.linalg.norm(smooth, axis=2) < _STILL_BELOW_PX] = 0.0
            fields[i] = smooth
        flush_subnormals(fields)
        return (x, y, w, h), fields
