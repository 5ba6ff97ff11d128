"""Per-portrait animation rig: the resized photo, its landmarks and dense displacement fields for a mesh warp."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

import cv2
import numpy as np
from scipy.spatial import Delaunay

from .faces import face_single

# Animation parameters, each 0..1. Left and right are the person's own (iBUG
# convention): "blink_left" closes the eye on the image's right (points 42-47).
PARAMETERS = ("jaw_open", "blink_left", "blink_right")

# iBUG 68-point indices.
_CHIN = 8
_NOSE_TIP = 33
_BROW_TOP = range(17, 27)
_OUTER_LIP = range(48, 60)
_INNER_LIP = range(60, 68)
_UPPER_INNER = (61, 62, 63)
_LOWER_INNER = (67, 66, 65)  # each directly below its _UPPER_INNER partner
_LOWER_LIP = (55, 56, 57, 58, 59, 65, 66, 67)
_CORNERS = ((48, 60), (54, 64))  # (outer, inner) corner on the image's left, right
# (upper lid, lower lid below it) pairs of each eye.
_EYES = {
    "blink_right": ((37, 41), (38, 40)),
    "blink_left": ((43, 47), (44, 46)),
}

# Drop of the lower lip's centre at jaw_open = 1, in mouth widths: a wide "ah".
JAW_DROP = 0.4
# The chin swings further from the jaw hinge than the lip does.
_CHIN_GAIN = 1.05
# Mouth corners follow the jaw a little and pull inward as the mouth rounds open.
_CORNER_DROP = 0.35
_CORNER_INWARD = 0.05
# Anchor ellipse around the face in face half-sizes: wide at the sides so the
# jaw's shear of the background beside it stays gentle, long below the chin so
# the neck absorbs the chin's drop without visible squashing.
_RING_SIDE, _RING_TOP, _RING_BOTTOM = 1.45, 1.3, 2.1
_RING_POINTS = 40
# Closed lips are one line in the photo; the mesh needs them apart to give the
# upper lip (still) and the lower lip (moving) their own vertices.
_LIP_SEPARATION_PX = 1.0
# An eyelid's inner row sits this far above the lower lid: the whole eye opening
# slides under the closing lid and the fold stays on the lash line.
_LID_ROW_PX = 1.0


@dataclass(frozen=True, eq=False)
class PortraitRig:
    """Everything the renderer needs about one portrait, at output resolution (read-only arrays).

    A frame with parameters p is the image resampled at ``grid - sum(p[name] * fields[name])``
    (backward mapping), with the mouth cavity painted where the lips have parted.
    """

    image: np.ndarray  # (H, W, 3) uint8 RGB, H and W even
    landmarks: np.ndarray  # (68, 2) float32 (x, y) in image pixels, iBUG order
    fields: Mapping[str, np.ndarray]  # name -> (H, W, 2) float32 displacement at parameter 1
    roi: tuple[int, int, int, int]  # x, y, w, h: all fields are zero outside it
    cavity_rest: np.ndarray  # (8, 2) float32 polygon between the lips at rest (zero area when closed)
    cavity_motion: Mapping[str, np.ndarray]  # name -> (8, 2) float32 motion of cavity_rest at parameter 1
    lip_colour: np.ndarray  # (3,) float32 mean RGB of the lips

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames."""
        return self.image.shape[1], self.image.shape[0]


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
    mesh = _Mesh(landmarks)
    mouth_width = float(np.linalg.norm(landmarks[54] - landmarks[48]))
    mesh.set_motion("jaw_open", _jaw_motion(landmarks, mouth_width))
    cavity = mesh.separate_lips()
    for name, lids in _EYES.items():
        mesh.add_blink(name, lids)
    mesh.add_anchors(image.shape[:2])
    roi, fields = mesh.dense_fields(image.shape[:2])
    cavity_motion = {name: motion[cavity] for name, motion in mesh.motions.items()}
    return PortraitRig(
        image=_frozen(image),
        landmarks=_frozen(landmarks),
        fields=MappingProxyType({name: _frozen(field) for name, field in fields.items()}),
        roi=roi,
        cavity_rest=_frozen(mesh.points[cavity].astype(np.float32)),
        cavity_motion=MappingProxyType({n: _frozen(m.astype(np.float32)) for n, m in cavity_motion.items()}),
        lip_colour=_frozen(_lip_colour(image, landmarks)),
    )


def _jaw_motion(landmarks: np.ndarray, mouth_width: float) -> np.ndarray:
    """(68, 2) landmark displacement at jaw_open = 1: lower lip, chin and jaw line drop."""
    drop = JAW_DROP * mouth_width
    motion = np.zeros((68, 2), np.float64)
    centre_x = (landmarks[48, 0] + landmarks[54, 0]) / 2
    half_width = max(mouth_width / 2, 1.0)
    for index in _LOWER_LIP:
        # The lip's centre drops the most; towards the corners it follows less.
        u = min(abs(landmarks[index, 0] - centre_x) / half_width, 1.0)
        motion[index, 1] = drop * (_CORNER_DROP + (1 - _CORNER_DROP) * (1 - u * u))
    for (outer, inner), inward in zip(_CORNERS, (1.0, -1.0)):
        motion[[outer, inner]] = (inward * _CORNER_INWARD * mouth_width, _CORNER_DROP * drop)
    # The jaw line hinges below the ears: from nothing at the nose tip's height to
    # the full drop at the chin.
    top, chin = landmarks[_NOSE_TIP, 1], landmarks[_CHIN, 1]
    for index in range(17):
        reach = np.clip((landmarks[index, 1] - top) / max(chin - top, 1.0), 0.0, 1.0)
        motion[index, 1] = _CHIN_GAIN * drop * reach**1.5
    return motion


class _Mesh:
    """Control points (landmarks plus helpers and anchors) with a displacement per parameter."""

    def __init__(self, landmarks: np.ndarray):
        self.landmarks = landmarks.astype(np.float64)
        self.points = self.landmarks.copy()
        self.motions: dict[str, np.ndarray] = {name: np.zeros((68, 2)) for name in PARAMETERS}

    def set_motion(self, name: str, motion: np.ndarray) -> None:
        self.motions[name][: len(motion)] = motion

    def add(self, point, motions: Mapping[str, np.ndarray] | None = None) -> int:
        self.points = np.vstack([self.points, np.asarray(point, np.float64)[None]])
        for name in self.motions:
            moved = np.zeros(2) if motions is None or name not in motions else motions[name]
            self.motions[name] = np.vstack([self.motions[name], moved[None]])
        return len(self.points) - 1

    def separate_lips(self) -> list[int]:
        """Give the still side and the moving side of the lip gap their own vertices.

        Returns the 8 vertex indices of the cavity polygon: left corner, the still
        edge left to right, right corner, the moving lower lip right to left.
        """
        still = []
        for upper, lower in zip(_UPPER_INNER, _LOWER_INNER):
            gap = self.points[lower, 1] - self.points[upper, 1]
            if gap >= 2 * _LIP_SEPARATION_PX:
                # An open mouth in the photo (teeth): what shows between the lips
                # stays with the upper jaw; the new gap opens above the lower lip.
                still.append(self.add(self.points[lower] - (0.0, _LIP_SEPARATION_PX)))
            else:
                self.points[lower, 1] = max(self.points[lower, 1], self.points[upper, 1] + _LIP_SEPARATION_PX)
                still.append(upper)
        return [60, *still, 64, *reversed(_LOWER_INNER)]

    def add_blink(self, name: str, lids) -> None:
        """Upper lid points travel to the lower lid; the eye opening slides with them."""
        motion = self.motions[name]
        for upper, lower in lids:
            travel = self.landmarks[lower] - self.landmarks[upper]
            motion[upper] = travel
            height = float(np.linalg.norm(travel))
            if height > 2 * _LID_ROW_PX:
                self.add(self.landmarks[lower] - travel * (_LID_ROW_PX / height), {name: travel})

    def add_anchors(self, shape: tuple[int, int]) -> None:
        """Fix a ring around face and neck, and the image border: nothing outside the ring moves."""
        height, width = shape
        jaw = self.landmarks[:17]
        top = self.landmarks[list(_BROW_TOP), 1].min()
        bottom = self.landmarks[_CHIN, 1]
        centre = np.array([(jaw[:, 0].min() + jaw[:, 0].max()) / 2, (top + bottom) / 2])
        half_w = (jaw[:, 0].max() - jaw[:, 0].min()) / 2
        half_h = (bottom - top) / 2
        angles = np.linspace(0, 2 * np.pi, _RING_POINTS, endpoint=False)
        sin = np.sin(angles)
        ring = np.stack([
            centre[0] + _RING_SIDE * half_w * np.cos(angles),
            centre[1] + half_h * sin * np.where(sin > 0, _RING_BOTTOM, _RING_TOP),
        ], axis=1)
        for point in ring:
            self.add(point)
        # Just outside the image so every pixel lies inside the mesh.
        for x in (-1.0, width / 2, float(width)):
            for y in (-1.0, height / 2, float(height)):
                if (x, y) != (width / 2, height / 2):
                    self.add((x, y))

    def dense_fields(self, shape: tuple[int, int]) -> tuple[tuple[int, int, int, int], dict[str, np.ndarray]]:
        """Piecewise-linear interpolation of every parameter's vertex motion.

        Returns the region (x, y, w, h) outside which every field is zero, and
        name -> (H, W, 2) float32 field.
        """
        triangles = Delaunay(self.points)
        moving = np.any([np.any(motion != 0, axis=1) for motion in self.motions.values()], axis=0)
        touched = self.points[triangles.simplices[moving[triangles.simplices].any(axis=1)].ravel()]
        x0, y0 = np.clip(np.floor(touched.min(axis=0)).astype(int), 0, None)
        x1 = int(np.clip(np.ceil(touched[:, 0].max()) + 1, 0, shape[1]))
        y1 = int(np.clip(np.ceil(touched[:, 1].max()) + 1, 0, shape[0]))
        x, y, w, h = int(x0), int(y0), x1 - int(x0), y1 - int(y0)
        ys, xs = np.mgrid[y : y + h, x : x + w]
        pixels = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
        simplex = triangles.find_simplex(pixels)
        transform = triangles.transform[simplex]
        partial = np.einsum("nij,nj->ni", transform[:, :2], pixels - transform[:, 2])
        weights = np.concatenate([partial, 1 - partial.sum(axis=1, keepdims=True)], axis=1)
        corners = triangles.simplices[simplex]
        fields = {}
        for name, motion in self.motions.items():
            field = np.zeros((*shape, 2), np.float32)
            field[y : y + h, x : x + w] = np.einsum("nk,nkc->nc", weights, motion[corners]).reshape(h, w, 2)
            fields[name] = field
        return (x, y, w, h), fields


def _lip_colour(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(3,) float32 mean RGB between the outer and inner lip contours."""
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[list(_OUTER_LIP)]).astype(np.int32)], 1)
    cv2.fillPoly(mask, [np.round(landmarks[list(_INNER_LIP)]).astype(np.int32)], 0)
    if not mask.any():
        cv2.fillPoly(mask, [np.round(landmarks[list(_OUTER_LIP)]).astype(np.int32)], 1)
    return image[mask.astype(bool)].mean(axis=0).astype(np.float32)


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array
