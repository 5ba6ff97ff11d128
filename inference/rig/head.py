"""Head motion: displacement fields per degree of roll, nod and yaw over the head and hair."""

from __future__ import annotations

import numpy as np

from .geometry import BROWS, CHIN, bounding_box, flush_subnormals, smoothstep

# Head: the face and hair turn as one within an ellipse (face half-sizes:
# sides, above, below the face's centre), fading out over a band beyond it
# and above the collar. Roll turns about a point in the neck; nod and yaw
# turn the face's relief (deepest at the nose) inside its still outline.
_HEAD_SIDE, _HEAD_TOP, _HEAD_BOTTOM = 1.35, 1.75, 1.0
_HEAD_FADE = 0.45
_NECK_FADE = 0.35  # face heights below the chin where head motion has faded out
_ROLL_PIVOT = 0.25  # face heights below the chin
_RELIEF_DEPTH = 0.45  # face widths: depth of the face's centre in front of its outline
_NOSE_DEPTH, _NOSE_SPREAD = 0.2, 0.25  # extra depth of the nose, and its Gaussian width (face widths)


def build_head_fields(shape: tuple[int, int], landmarks: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """The head's region (x, y, w, h) and its (3, h, w, 2) float32 displacement per degree of roll, nod and yaw."""
    jaw = landmarks[:17].astype(np.float64)
    top, chin = float(landmarks[list(BROWS), 1].min()), float(landmarks[CHIN, 1])
    face_w = float(np.ptp(jaw[:, 0]))
    face_h = chin - top
    centre = np.array([(jaw[:, 0].min() + jaw[:, 0].max()) / 2, (top + chin) / 2])
    half_w, half_h = face_w / 2, face_h / 2
    reach = 1 + _HEAD_FADE
    corners = np.array(
        [
            [centre[0] - _HEAD_SIDE * half_w * reach, centre[1] - _HEAD_TOP * half_h * reach],
            [centre[0] + _HEAD_SIDE * half_w * reach, chin + _NECK_FADE * face_h],
        ]
    )
    x, y, w, h = bounding_box(corners, shape)
    ys, xs = np.mgrid[y : y + h, x : x + w].astype(np.float64)
    dx, dy = (xs - centre[0]) / (_HEAD_SIDE * half_w), ys - centre[1]
    dy = dy / np.where(dy < 0, _HEAD_TOP * half_h, _HEAD_BOTTOM * half_h)
    radius = np.hypot(dx, dy)
    weight = smoothstep((reach - radius) / _HEAD_FADE)
    # Below the face the neck carries the head: the motion fades out towards the collar.
    weight *= np.where(ys > chin, smoothstep(1 - (ys - chin) / (_NECK_FADE * face_h)), 1.0)
    radian = np.pi / 180
    pivot = np.array([centre[0], chin + _ROLL_PIVOT * face_h])
    roll = np.stack([-(ys - pivot[1]), xs - pivot[0]], axis=-1) * radian * weight[..., None]
    # The face's relief: an ellipsoid over the face outline plus the nose.
    fx, fy = (xs - centre[0]) / half_w, (ys - centre[1]) / half_h
    relief = _RELIEF_DEPTH * face_w * np.sqrt(np.clip(1 - fx * fx - fy * fy, 0.0, None))
    nose = landmarks[30].astype(np.float64)
    relief += (
        _NOSE_DEPTH * face_w * np.exp(-0.5 * ((xs - nose[0]) ** 2 + (ys - nose[1]) ** 2) / (_NOSE_SPREAD * face_w) ** 2)
    )
    relief *= radian
    zero = np.zeros_like(relief)
    nod = np.stack([zero, relief], axis=-1)
    yaw = np.stack([relief, zero], axis=-1)
    fields = np.stack([roll, nod, yaw]).astype(np.float32)
    flush_subnormals(fields)
    return (x, y, w, h), fields
