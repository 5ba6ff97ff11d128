"""Per-portrait animation rig: the resized photo, its landmarks and dense displacement fields for a warp."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType

import cv2
import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.ndimage import gaussian_filter1d
from scipy.spatial import Delaunay

from .faces import face_single

# Face parameters (0..1) warp the face in the photo's own frame; eyelids are
# drawn; head parameters (degrees) then move the whole head. Left and right are
# the person's own (iBUG convention): "blink_left" closes the eye on the
# image's right (points 42-47).
FACE_PARAMETERS = ("jaw_open", "lip_spread", "lip_round", "lip_close", "lip_dental", "smile", "serious", "brow_raise")
BLINK_PARAMETERS = ("blink_left", "blink_right")
HEAD_PARAMETERS = ("head_roll", "head_nod", "head_yaw")
PARAMETERS = FACE_PARAMETERS + BLINK_PARAMETERS + HEAD_PARAMETERS

# Version of the rig's stored form (rig_to_bytes): bump it when the rig changes, so cached rigs are rebuilt.
RIG_FORMAT = "candor-rig-2"

# iBUG 68-point indices.
_CHIN = 8
_NOSE_TIP = 33
_BROWS = range(17, 27)
_INNER_BROWS = (20, 21, 22, 23)
_CHEEKS = (2, 3, 4, 12, 13, 14)
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
# The photo's inner lower-lip contour (on the lip's edge, see
# _inner_lips_refined) is trimmed by this much (px) to keep lip off the teeth.
_PHOTO_LOWER_TRIM_PX = 0.5
# Around the photo's open mouth its own lips are painted back this far (px)
# at rest, past the painted opening's feathered edge.
_PHOTO_MARGIN_PX = 2
# Where closed lips meet they shade each other: the crease between them is
# the lips' own colour darkened and deepened.
_CREASE_SHADE, _CREASE_DEEPEN = 0.7, 1.5
# Lips parted by at least this (px) show the inside of the mouth: the rig closes them.
_PARTED_PX = 2.0
# Inner lip points of parted lips are refined in columns (upper, lower inner
# point, and the outer points of their lips) where the opening's colour
# differs from the lips' by at least this (CIELAB units, 8-bit scale).
_INNER_LIP_COLUMNS = ((61, 67, 50, 58), (62, 66, 51, 57), (63, 65, 52, 56))
_EDGE_CONTRAST = 12.0
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
# A closing lid is drawn from the skin above its lashes, up to this share of
# the way to the brow: short of the brow and mostly of the lid crease.
_LID_SKIN_SHARE = 0.4
# The closing lid starts above the open lid's margin to cover its lashes: by
# this share of the eye's height, at least the minimum (px).
_LID_OVERLAP = 0.3
_LID_OVERLAP_MIN_PX = 2.0
# Teeth and cavity colours: teeth take the light of the photo's eye whites
# (or its own teeth), as light as the face's highlights.
_TEETH_LIGHTNESS = 1.05
_TEETH_WARMTH = 0.35
_TEETH_MAX_TINT = 0.2


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
class InnerMouth:
    """What the renderer paints between parted lips; positions in image px, colours (3,) float32 RGB."""

    polygon_rest: (
        np.ndarray
    )  # (K, 2) float32 cavity polygon at rest: left corner, upper edge, right corner, lower edge back
    polygon_motion: np.ndarray  # (len(FACE_PARAMETERS), K, 2) float32 its motion per face parameter at 1
    upper: np.ndarray  # (S,) int indices of the upper edge in the polygon, left to right
    lower: np.ndarray  # (S,) int indices of the lower edge, left to right
    teeth_line: np.ndarray  # (S,) float32 image y where the upper teeth's edges sit at rest, per upper-edge vertex
    photo_inside: (
        np.ndarray | None
    )  # (H, W) float32 0..1 the photo's open mouth and a rim of lip (lips parted), else None
    photo_teeth: np.ndarray | None  # (H, W) float32 the photo's open mouth less the inner edge of the lower lip
    rest_parting: float  # px between the lips' middles at rest
    width: float  # mouth width, px
    cavity: np.ndarray  # dark, reddish inside of the mouth
    teeth: np.ndarray
    tongue: np.ndarray
    crease: (
        np.ndarray | None
    )  # of the line where the lips meet, drawn when they close; None when the photo shows its own


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


def rig_to_bytes(rig: PortraitRig) -> bytes:
    """The rig as an .npz archive (arrays only, no pickle), to cache it with its portrait."""
    arrays = {"format": np.array(RIG_FORMAT)}
    _flatten(rig, "", arrays)
    for name, eyelid in rig.eyelids.items():
        _flatten(eyelid, f"eyelids.{name}.", arrays)
    _flatten(rig.mouth, "mouth.", arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def rig_from_bytes(data: bytes) -> PortraitRig | None:
    """The rig stored by rig_to_bytes, or None when the archive is unreadable or of another format (rebuild it then)."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    if arrays.get("format") != RIG_FORMAT:
        return None
    try:
        eyelids = {
            name: _unflatten(Eyelid, f"eyelids.{name}.", arrays)
            for name in BLINK_PARAMETERS
            if f"eyelids.{name}.box" in arrays
        }
        return _unflatten(
            PortraitRig, "", arrays, eyelids=MappingProxyType(eyelids), mouth=_unflatten(InnerMouth, "mouth.", arrays)
        )
    except (KeyError, TypeError, ValueError):
        return None


def _flatten(record, prefix: str, arrays: dict[str, np.ndarray]) -> None:
    for field in fields(record):
        value = getattr(record, field.name)
        if value is not None and field.name not in ("eyelids", "mouth"):
            arrays[prefix + field.name] = np.asarray(value)


def _unflatten(kind, prefix: str, arrays: Mapping[str, np.ndarray], **given):
    values = dict(given)
    for field in fields(kind):
        if field.name in given:
            continue
        stored = arrays.get(prefix + field.name)
        if stored is None:
            values[field.name] = None  # optional arrays (a photo without an open mouth)
        elif field.type.startswith("tuple"):
            values[field.name] = tuple(int(v) for v in stored)
        elif field.type in ("float", "bool"):
            values[field.name] = float(stored) if field.type == "float" else bool(stored)
        else:
            values[field.name] = _frozen(stored)
    return kind(**values)


def _even(length: float) -> int:
    return max(2, 2 * round(length / 2))


def _rig(image: np.ndarray, landmarks: np.ndarray) -> PortraitRig:
    shape = image.shape[:2]
    axes = _FaceAxes(landmarks)
    landmarks = _inner_lips_refined(image, landmarks, axes)
    mesh = _FaceMesh(axes.to_local(landmarks))
    mesh.add_anchors(axes.to_local(_border(shape)))
    triangles = Delaunay(mesh.points)
    base = image
    if mesh.parted:
        closed = axes.to_image(mesh.points + mesh.closing)
        gap = np.zeros(len(mesh.points), bool)
        gap[[*mesh.upper_inner, *mesh.lower_inner, _MESH_LANDMARKS.index(60), _MESH_LANDMARKS.index(64)]] = True
        base = _close_lips(image, axes.to_image(mesh.points), closed, triangles, gap)
        strip = np.vstack(
            [
                closed[_MESH_LANDMARKS.index(60)],
                closed[mesh.upper_inner],
                closed[_MESH_LANDMARKS.index(64)],
                closed[mesh.lower_inner][::-1],
            ]
        )
        _fill_lip_seam(base, strip)
        mesh.close()
        triangles = Delaunay(mesh.points)
    roi, fields = mesh.dense_fields(shape, axes, triangles)
    head_roi, head_fields = _head_fields(shape, landmarks)
    eyelids = {name: _eyelid(shape, landmarks, *eye) for name, eye in _EYES.items()}
    return PortraitRig(
        image=_frozen(image),
        base=_frozen(base),
        landmarks=_frozen(landmarks),
        roi=roi,
        fields=_frozen(fields[:-1]),
        rest=_frozen(fields[-1]),
        head_roi=head_roi,
        head_fields=_frozen(head_fields),
        eyelids=MappingProxyType({name: lid for name, lid in eyelids.items() if lid is not None}),
        mouth=_inner_mouth(image, landmarks, axes, mesh),
        lips_parted=mesh.parted,
    )


def _inner_lips_refined(image: np.ndarray, landmarks: np.ndarray, axes: _FaceAxes) -> np.ndarray:
    """(68, 2) float32 landmarks with the inner lip points of parted lips moved onto the lips' edges in image (H, W, 3).

    The predictor places the inner lip contour of a parted mouth a pixel or
    two off, often inside the lower lip; closing the lips from there would
    drop that much of the lip with the teeth. Each inner point moves along
    the face's vertical, between the middle of the opening and the middle of
    its lip, to where the colour turns from the opening's to the lip's.
    """
    refined = landmarks.copy()
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    for upper, lower, upper_outer, lower_outer in _INNER_LIP_COLUMNS:
        opening = (landmarks[upper] + landmarks[lower]) / 2
        if float((landmarks[lower] - landmarks[upper]) @ axes.y) < _PARTED_PX:
            continue
        inside = _colour_at(lab, opening[None])[0]
        for point, outer in ((upper, upper_outer), (lower, lower_outer)):
            middle = (landmarks[point] + landmarks[outer]) / 2
            lip = _colour_at(lab, middle[None])[0]
            contrast = inside - lip
            if float(np.linalg.norm(contrast)) < _EDGE_CONTRAST:
                continue  # the lip looks like the opening here: keep the predictor's point
            steps = np.linspace(0.0, 1.0, max(int(np.linalg.norm(middle - opening) / 0.25), 2))
            path = opening + steps[:, None] * (middle - opening)
            share = (_colour_at(lab, path) - lip) @ contrast / float(contrast @ contrast)
            outside = np.flatnonzero(share < 0.5)
            if not len(outside) or outside[0] == 0:
                continue
            k = outside[0]
            t = steps[k - 1] + (steps[k] - steps[k - 1]) * (share[k - 1] - 0.5) / max(share[k - 1] - share[k], 1e-6)
            refined[point] = opening + t * (middle - opening)
    return refined.astype(np.float32)


def _colour_at(lab: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(n, 3) float32 colours of an image (H, W, 3) float32 at points (n, 2), bilinearly sampled."""
    maps = np.asarray(points, np.float32).reshape(1, -1, 2)
    return cv2.remap(lab, maps, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0]


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


class _FaceMesh:
    """Control points in face axes with their motion per face parameter, interpolated piecewise-linearly.

    The lips are four resampled contours; the inner ones are kept apart so the
    lip gap is a seam between a still and a moving side of the mesh. Where the
    photo's lips are parted, ``closing`` moves them together; after close() the
    mesh stands on the closed lips and a last motion, the rest pose, reopens them.
    """

    def __init__(self, local: np.ndarray):
        self.local = local
        self.width = float(local[54, 0] - local[48, 0])  # of the mouth
        self.eyes = float(np.linalg.norm(local[42:48].mean(axis=0) - local[36:42].mean(axis=0)))
        self.drop = _JAW_DROP * self.width
        self.points = local[list(_MESH_LANDMARKS)].copy()
        self.kinds = ["landmark"] * len(self.points)
        chains = {}
        for name, indices in _LIP_CHAINS.items():
            left, right = local[indices[0], 0], local[indices[-1], 0]
            xs = np.linspace(left, right, _LIP_SAMPLES + 2)[1:-1]
            chains[name] = np.stack([xs, _curve(local[list(indices)], xs)], axis=1)
        upper, lower = chains["upper_inner"], chains["lower_inner"]
        gap = lower[:, 1] - upper[:, 1]
        self.parted = bool(gap.max() >= _PARTED_PX)
        lower[:, 1] = np.maximum(lower[:, 1], upper[:, 1] + _LIP_SEPARATION_PX)
        # Closing parted lips: each lip moves whole (inner and outer edge
        # alike), so it keeps its own thickness and the skin beside it takes
        # up the change; the upper lip covers a smaller share of the gap than
        # the lower lip, which the jaw carries. Towards the corners the gap
        # tapers to nothing; along the outer edges its profile is smoothed,
        # so the skin beside the corners stretches gently.
        gap_x = np.concatenate([[local[60, 0]], upper[:, 0], [local[64, 0]]])
        shut = np.concatenate([[0.0], np.maximum(lower[:, 1] - upper[:, 1] - _LIP_SEPARATION_PX, 0.0), [0.0]])
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

    def _extend(self, points: np.ndarray, kind: str) -> np.ndarray:
        start = len(self.points)
        self.points = np.vstack([self.points, points])
        self.kinds.extend([kind] * len(points))
        return np.arange(start, len(self.points))

    def close(self) -> None:
        """Stand the mesh on the closed lips; the rest pose reopens them."""
        self.points = self.points + self.closing
        self.rest = -self.closing

    def add_anchors(self, border: np.ndarray) -> None:
        """Fix a ring around face and neck, and the image border (local coordinates): nothing outside the ring moves."""
        local = self.local
        jaw = local[:17]
        top, bottom = local[list(_BROWS), 1].min(), local[_CHIN, 1]
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

    def motions(self) -> np.ndarray:
        """(len(FACE_PARAMETERS) + 1, n, 2) motion of every point per face parameter at 1, then the rest pose."""
        motion = np.zeros((len(FACE_PARAMETERS) + 1, len(self.points), 2))
        index = {name: i for i, name in enumerate(FACE_PARAMETERS)}
        mouth_centre = (self.points[_MESH_LANDMARKS.index(60), 0] + self.points[_MESH_LANDMARKS.index(64), 0]) / 2
        half = max((self.points[_MESH_LANDMARKS.index(64), 0] - self.points[_MESH_LANDMARKS.index(60), 0]) / 2, 1.0)
        W, E = self.width, self.eyes
        for row, (point, kind) in enumerate(zip(self.points, self.kinds, strict=False)):
            if kind == "anchor":
                continue
            landmark = _MESH_LANDMARKS[row] if kind == "landmark" else None
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
                if landmark in _CHEEKS:
                    side = -1.0 if landmark < 8 else 1.0
                    motion[index["smile"], row] = (side * 0.3 * _SMILE_CHEEK * W, -_SMILE_CHEEK * W)
            elif landmark in _BROWS:
                inner = landmark in _INNER_BROWS
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
        top, chin = local[_NOSE_TIP, 1], local[_CHIN, 1]
        reach = np.clip((local[index, 1] - top) / max(chin - top, 1.0), 0.0, 1.0)
        return 0.0, _CHIN_GAIN * self.drop * reach**1.5

    def dense_fields(
        self, shape: tuple[int, int], axes: _FaceAxes, triangles: Delaunay
    ) -> tuple[tuple[int, int, int, int], np.ndarray]:
        """The region (x, y, w, h) where any face parameter moves anything, and the (P + 1, h, w, 2) float32 fields there."""
        motions = self.motions()
        moving = np.any(motions != 0, axis=(0, 2))
        touched = axes.to_image(self.points[triangles.simplices[moving[triangles.simplices].any(axis=1)].ravel()])
        jaw_width = float(np.ptp(self.local[:17, 0]))
        sigma = max(_FIELD_SMOOTHING * jaw_width, 0.5)
        reach = 3 * sigma
        x, y, w, h = _box(np.vstack([touched.min(axis=0) - reach, touched.max(axis=0) + reach]), shape)
        ys, xs = np.mgrid[y : y + h, x : x + w]
        pixels = axes.to_local(np.stack([xs.ravel(), ys.ravel()], axis=1))
        simplex = _rasterized_simplices(triangles, axes.to_image(self.points) - (x, y), (h, w)).ravel()
        unassigned = simplex < 0
        simplex[unassigned] = triangles.find_simplex(pixels[unassigned])
        transform = triangles.transform[simplex]
        partial = np.einsum("nij,nj->ni", transform[:, :2], pixels - transform[:, 2])
        weights = np.concatenate([partial, 1 - partial.sum(axis=1, keepdims=True)], axis=1)
        vertices = triangles.simplices[simplex]
        # Smoothing hides the mesh's creases (straight lines in the photo would
        # bend at triangle edges) but must not blur across the lip gap, where
        # the field steps from still to moving: the lips keep the exact field.
        lips = np.zeros((h, w), np.uint8)
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
        _flush_subnormals(fields)
        return (x, y, w, h), fields


def _rasterized_simplices(triangles: Delaunay, points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(h, w) int32 index of the triangle over each pixel of a box of this shape (-1 where none),
    the mesh's points (n, 2) given in the box's pixel coordinates.

    Drawing the triangles is far faster than locating each pixel in the
    triangulation; a pixel on an edge may go to either neighbour, which the
    piecewise-linear interpolation does not notice.
    """
    index = np.full(shape, -1, np.int32)
    corners = np.round(points * 16).astype(np.int32)
    for number, simplex in enumerate(triangles.simplices):
        cv2.fillConvexPoly(index, corners[simplex], number, cv2.LINE_8, 4)
    return index


def _close_lips(
    image: np.ndarray, source: np.ndarray, target: np.ndarray, triangles: Delaunay, gap: np.ndarray
) -> np.ndarray:
    """(H, W, 3) uint8 copy of image with each mesh triangle moved from source (n, 2) to target (n, 2) points.

    An exact piecewise-affine forward warp of the few triangles that move
    (those of the lips), so the parted lips meet without sampling the teeth.
    Triangles with every corner in gap (n,) bool span the mouth's opening and
    are left for the lip line to cover.
    """
    height, width = image.shape[:2]
    map_x, map_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    moving = np.any(np.abs(target - source) > 1e-6, axis=1)
    chosen = moving[triangles.simplices].any(axis=1) & ~gap[triangles.simplices].all(axis=1)
    for simplex in triangles.simplices[chosen]:
        src, dst = source[simplex].astype(np.float32), target[simplex].astype(np.float32)
        (ax, ay), (bx, by) = dst[1] - dst[0], dst[2] - dst[0]
        area = abs(float(ax * by - ay * bx))
        if area < 0.5:
            continue  # the closed gap itself: nothing to show
        x, y, w, h = _box(dst, (height, width))
        if not w or not h:
            continue
        mask = np.zeros((h, w), np.uint8)
        cv2.fillConvexPoly(mask, np.round((dst - (x, y)) * 16).astype(np.int32), 1, cv2.LINE_8, 4)
        inside = mask.astype(bool)
        affine = cv2.getAffineTransform(dst, src)
        ys, xs = np.nonzero(inside)
        xs, ys = xs + x, ys + y
        map_x[ys, xs] = affine[0, 0] * xs + affine[0, 1] * ys + affine[0, 2]
        map_y[ys, xs] = affine[1, 0] * xs + affine[1, 1] * ys + affine[1, 2]
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _fill_lip_seam(base: np.ndarray, strip: np.ndarray) -> None:
    """Fill the seam between closed lips from the lips on either side, in place on base (H, W, 3) uint8.

    strip: (K, 2) polygon between the closed inner lip edges, where the
    photo's teeth still show. The renderer draws the lips' crease over it.
    """
    x, y, w, h = _box(np.vstack([strip.min(axis=0) - 3, strip.max(axis=0) + 3]), base.shape[:2])
    if not w or not h:
        return
    seam = (_polygon_mask(base.shape[:2], strip)[y : y + h, x : x + w] > 0).astype(np.uint8)
    base[y : y + h, x : x + w] = cv2.inpaint(
        np.ascontiguousarray(base[y : y + h, x : x + w]), seam, 2, cv2.INPAINT_TELEA
    )


def _head_fields(shape: tuple[int, int], landmarks: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """The head's region (x, y, w, h) and its (3, h, w, 2) float32 displacement per degree of roll, nod and yaw."""
    jaw = landmarks[:17].astype(np.float64)
    top, chin = float(landmarks[list(_BROWS), 1].min()), float(landmarks[_CHIN, 1])
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
    x, y, w, h = _box(corners, shape)
    ys, xs = np.mgrid[y : y + h, x : x + w].astype(np.float64)
    dx, dy = (xs - centre[0]) / (_HEAD_SIDE * half_w), ys - centre[1]
    dy = dy / np.where(dy < 0, _HEAD_TOP * half_h, _HEAD_BOTTOM * half_h)
    radius = np.hypot(dx, dy)
    weight = _smoothstep((reach - radius) / _HEAD_FADE)
    # Below the face the neck carries the head: the motion fades out towards the collar.
    weight *= np.where(ys > chin, _smoothstep(1 - (ys - chin) / (_NECK_FADE * face_h)), 1.0)
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
    _flush_subnormals(fields)
    return (x, y, w, h), fields


def _flush_subnormals(fields: np.ndarray) -> None:
    """Zero the negligible components of float32 fields in place: subnormal floats make every frame's arithmetic crawl."""
    fields[np.abs(fields) < 1e-6] = 0.0


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _inner_mouth(image: np.ndarray, landmarks: np.ndarray, axes: _FaceAxes, mesh: _FaceMesh) -> InnerMouth:
    """Cavity polygon and colours of the inside of the mouth."""
    left, right = (_MESH_LANDMARKS.index(corner) for corner in (60, 64))
    upper, lower = mesh.upper_inner, mesh.lower_inner
    vertices = np.array([left, *upper, right, *lower[::-1]])
    motions = mesh.motions()
    rest_points = mesh.points + mesh.rest
    polygon = axes.to_image(rest_points[vertices]).astype(np.float32)
    motion = axes.vectors_to_image(motions[:-1][:, vertices]).astype(np.float32)
    n = len(upper)
    lip = _lip_colour(image, landmarks)
    return InnerMouth(
        polygon_rest=_frozen(polygon),
        polygon_motion=_frozen(motion),
        upper=_frozen(np.arange(1, n + 1)),
        lower=_frozen(np.arange(len(vertices) - 1, n + 1, -1)),
        teeth_line=_frozen(axes.to_image(rest_points[upper])[:, 1].astype(np.float32)),
        photo_inside=_frozen(_grown(_polygon_mask(image.shape[:2], polygon), _PHOTO_MARGIN_PX))
        if mesh.parted
        else None,
        photo_teeth=_frozen(_photo_teeth(image.shape[:2], polygon, n)) if mesh.parted else None,
        rest_parting=float(np.linalg.norm(polygon[1 + n // 2] - polygon[len(vertices) - 1 - n // 2])),
        width=float(mesh.width),
        cavity=_frozen((lip * np.array([0.42, 0.26, 0.26])).astype(np.float32)),
        teeth=_frozen(_teeth_colour(image, landmarks, mesh.parted)),
        tongue=_frozen((lip * np.array([0.7, 0.5, 0.5])).astype(np.float32)),
        crease=_frozen((_CREASE_SHADE * lip * (lip / max(float(lip.max()), 1.0)) ** _CREASE_DEEPEN).astype(np.float32))
        if mesh.parted
        else None,
    )


def _photo_teeth(shape: tuple[int, int], polygon: np.ndarray, n_upper: int) -> np.ndarray:
    """(H, W) float32 coverage of the photo's own open mouth less the lower lip's inner edge.

    polygon: (K, 2) cavity polygon at rest with n_upper upper-edge points. The
    inner lip contour runs a little inside the lower lip: its lower edge is
    raised so no lip stays behind with the still teeth when the jaw drops.
    """
    raised = polygon.copy()
    lower = slice(n_upper + 2, None)
    gap = np.interp(raised[lower, 0], polygon[1 : n_upper + 1, 0], polygon[1 : n_upper + 1, 1])
    raised[lower, 1] -= np.minimum(_PHOTO_LOWER_TRIM_PX, np.maximum(raised[lower, 1] - gap, 0.0) / 3)
    return _polygon_mask(shape, raised)


def _grown(mask: np.ndarray, px: int) -> np.ndarray:
    """(H, W) float32 coverage mask (H, W) grown outwards by px pixels, its anti-aliased edge kept."""
    return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1)))


def _polygon_mask(shape: tuple[int, int], polygon: np.ndarray) -> np.ndarray:
    """(H, W) float32 anti-aliased coverage 0..1 of a polygon (n, 2) in image pixels."""
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(polygon * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    return mask.astype(np.float32) / 255


def _teeth_colour(image: np.ndarray, landmarks: np.ndarray, parted: bool) -> np.ndarray:
    """(3,) float32 RGB of teeth lit like this face: the photo's own teeth, else the tint of its eye whites."""
    mask = np.zeros(image.shape[:2], np.uint8)
    if parted:
        cv2.fillPoly(mask, [np.round(landmarks[60:68]).astype(np.int32)], 1)
    else:
        for eye in (slice(36, 42), slice(42, 48)):
            cv2.fillPoly(mask, [np.round(landmarks[eye]).astype(np.int32)], 1)
    pixels = image[mask.astype(bool)].astype(np.float32)
    skin = _skin_pixels(image, landmarks)
    highlight = np.percentile(skin.mean(axis=1), 90) if len(skin) else 200.0
    if len(pixels):
        lightness = pixels.mean(axis=1)
        bright = pixels[lightness >= np.percentile(lightness, 75)]
        tint = bright.mean(axis=0)
    else:
        tint = skin.mean(axis=0) if len(skin) else np.full(3, 200.0)
    # Teeth are ivory: nearly neutral under the photo's light, warmed a little
    # by the skin's hue (a flat neutral reads grey-blue beside skin).
    light = tint / max(float(tint.mean()), 1.0)
    warmth = skin.mean(axis=0) / max(float(skin.mean()), 1.0) if len(skin) else np.ones(3)
    hue = np.sqrt(light) * warmth**_TEETH_WARMTH
    hue /= hue.mean()
    # However coloured the light or the sampled whites, enamel stays pale.
    hue = 1 + (hue - 1) * min(1.0, _TEETH_MAX_TINT / max(float(np.abs(hue - 1).max()), 1e-6))
    return (hue * _TEETH_LIGHTNESS * highlight).clip(0, 255).astype(np.float32)


def _skin_pixels(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(n, 3) RGB of the cheeks and nose: the skin below the eyes and above the mouth."""
    mask = np.zeros(image.shape[:2], np.uint8)
    region = landmarks[[1, 2, 3, 31, 32, 33, 34, 35, 13, 14, 15, 29]]
    cv2.fillPoly(mask, [np.round(cv2.convexHull(region.astype(np.float32))).astype(np.int32)], 1)
    return image[mask.astype(bool)].astype(np.float32)


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
