"""The face's landmarks and axes, and the array helpers the rig's builders share."""

from __future__ import annotations

from typing import cast

import numpy as np
from scipy.interpolate import PchipInterpolator

# iBUG 68-point indices.
CHIN = 8
NOSE_TIP = 33
BROWS = range(17, 27)
INNER_BROWS = (20, 21, 22, 23)
CHEEKS = (2, 3, 4, 12, 13, 14)


class FaceAxes:
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
        return cast(np.ndarray, self.origin + self.vectors_to_image(points))

    def vectors_to_image(self, vectors: np.ndarray) -> np.ndarray:
        return cast(np.ndarray, vectors[..., :1] * self.x + vectors[..., 1:] * self.y)


def flush_subnormals(fields: np.ndarray) -> None:
    """Zero the negligible components of float32 fields in place: subnormal floats make every frame's arithmetic
    crawl."""
    fields[np.abs(fields) < 1e-6] = 0.0


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return cast(np.ndarray, x * x * (3 - 2 * x))


def smooth_curve(points: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """y of a smooth curve through points (n, 2) at xs; points out of x order fall back to straight segments."""
    if np.all(np.diff(points[:, 0]) > 0):
        return cast(np.ndarray, PchipInterpolator(points[:, 0], points[:, 1])(xs))
    order = np.argsort(points[:, 0])
    return cast(np.ndarray, np.interp(xs, points[order, 0], points[order, 1]))


def image_border(shape: tuple[int, int]) -> np.ndarray:
    """(8, 2) points just outside the image so every pixel lies inside the mesh."""
    height, width = shape
    xs, ys = (-1.0, width / 2, float(width)), (-1.0, height / 2, float(height))
    return np.array([(x, y) for x in xs for y in ys if (x, y) != (width / 2, height / 2)])


def bounding_box(points: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """Pixel bounding box (x, y, w, h) of points (n, 2), clipped to an image of shape (H, W)."""
    x0 = int(np.clip(np.floor(points[:, 0].min()), 0, shape[1]))
    y0 = int(np.clip(np.floor(points[:, 1].min()), 0, shape[0]))
    x1 = int(np.clip(np.ceil(points[:, 0].max()) + 1, 0, shape[1]))
    y1 = int(np.clip(np.ceil(points[:, 1].max()) + 1, 0, shape[0]))
    return x0, y0, max(x1 - x0, 0), max(y1 - y0, 0)


def frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


def barycentric(triangle: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(n, 3) barycentric weights of points (n, 2) in a triangle (3, 2) of non-zero area (negative outside it)."""
    origin = triangle[0]
    basis = np.stack([triangle[1] - origin, triangle[2] - origin], axis=1)
    partial = np.linalg.solve(basis, (points - origin).T).T
    return np.concatenate([1 - partial.sum(axis=1, keepdims=True), partial], axis=1)


def weights_inside(weights: np.ndarray) -> np.ndarray:
    """(n, k) barycentric weights (n, k) clipped at 0 and renormalized to sum to 1: a point of the simplex near the
    given one, never an extrapolation."""
    clipped = np.clip(weights, 0.0, None)
    return cast(np.ndarray, clipped / np.maximum(clipped.sum(axis=1, keepdims=True), 1e-12))
