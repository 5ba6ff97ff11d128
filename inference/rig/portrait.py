"""The rig of one portrait: the resized photo, its landmarks, and every field the renderer poses it with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import cv2
import numpy as np
from scipy.spatial import Delaunay

from ..faces import face_single
from .eyelids import EYES, Eyelid, build_eyelid
from .geometry import FaceAxes, frozen, image_border
from .head import build_head_fields
from .mesh import MESH_LANDMARKS, FaceMesh
from .mouth import InnerMouth, build_inner_mouth, close_lips, fill_lip_seam, inner_lips_refined


@dataclass(frozen=True, eq=False)
class PortraitRig:
    """Everything the renderer needs about one portrait, at output resolution (read-only arrays).

    Face parameters pose by backward mapping inside ``roi``: the base image is
    resampled at ``grid - (rest + sum(value * fields[i]))``, and the inner mouth
    is painted where the lips part. A photo with parted lips has them closed in
    ``base`` and reopened by ``rest``, so closing them never squeezes the
    photo's teeth into a line. Head parameters then move ``head_fields`` (per
    degree) over ``head_roi`` in the same way.
    """

    image: np.ndarray  # (H, W, 3) uint8 RGB, H and W even: the portrait
    base: np.ndarray  # (H, W, 3) uint8 RGB: the portrait with its lips closed
    landmarks: (
        np.ndarray
    )  # (68, 2) float32 (x, y) in image pixels, iBUG order; parted lips' inner points on their edges
    roi: tuple[int, int, int, int]  # x, y, w, h of the face fields
    fields: np.ndarray  # (len(FACE_PARAMETERS), h, w, 2) float32 (dx, dy) at parameter 1
    rest: np.ndarray  # (h, w, 2) float32 displacement of the rest pose (zero unless the photo's lips are parted)
    head_roi: tuple[int, int, int, int]
    head_fields: np.ndarray  # (len(HEAD_PARAMETERS), h, w, 2) float32 (dx, dy) per degree
    eyelids: Mapping[str, Eyelid]  # blink parameter -> its eye (absent for an eye closed in the photo)
    mouth: InnerMouth
    lips_parted: bool  # whether the photo shows the inside of the mouth


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
    axes = FaceAxes(landmarks)
    landmarks, inner_edges = inner_lips_refined(image, landmarks, axes)
    mesh = FaceMesh(axes.to_local(landmarks), inner_edges)
    mesh.add_anchors(axes.to_local(image_border(shape)))
    triangles = Delaunay(mesh.points)
    base = image
    if mesh.parted:
        closed = axes.to_image(mesh.points + mesh.closing)
        gap = np.zeros(len(mesh.points), bool)
        gap[[*mesh.upper_inner, *mesh.lower_inner, MESH_LANDMARKS.index(60), MESH_LANDMARKS.index(64)]] = True
        base = close_lips(image, axes.to_image(mesh.points), closed, triangles, gap)
        strip = np.vstack(
            [
                closed[MESH_LANDMARKS.index(60)],
                closed[mesh.upper_inner],
                closed[MESH_LANDMARKS.index(64)],
                closed[mesh.lower_inner][::-1],
            ]
        )
        fill_lip_seam(base, strip)
        mesh.close()
        triangles = Delaunay(mesh.points)
    roi, fields = mesh.dense_fields(shape, axes, triangles)
    head_roi, head_fields = build_head_fields(shape, landmarks)
    eyelids = {name: build_eyelid(shape, landmarks, *eye) for name, eye in EYES.items()}
    return PortraitRig(
        image=frozen(image),
        base=frozen(base),
        landmarks=frozen(landmarks),
        roi=roi,
        fields=frozen(fields[:-1]),
        rest=frozen(fields[-1]),
        head_roi=head_roi,
        head_fields=frozen(head_fields),
        eyelids=MappingProxyType({name: lid for name, lid in eyelids.items() if lid is not None}),
        mouth=build_inner_mouth(image, landmarks, axes, mesh),
        lips_parted=mesh.parted,
    )
