"""Talking-portrait frames: the photo's own pixels warped by the rig, driven by speech, blinks and head motion."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import cast

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

from .articulation import CLOSE, DENTAL, JAW, ROUND, SPREAD, acoustic_track, viseme_track
from .errors import InferenceError
from .motion import Phoneme, blink_track, brow_track, head_track, speech_level
from .neural import NeuralMouth, mel_windows, neural_mouth
from .rig import (
    BLINK_PARAMETERS,
    FACE_PARAMETERS,
    HEAD_PARAMETERS,
    PARAMETERS,
    Eyelid,
    InnerMouth,
    PortraitRig,
    portrait_rig,
)
from .warp import Warper, engine_warper

EXPRESSIONS = ("neutral", "friendly", "serious")

# Inner mouth shading: the rig's cavity colour just inside the lips, its
# throat colour at the back, darker towards the corners by this share.
_CORNER_SHADE = 0.45
# Lips parted less than this (px) beyond their resting separation fade the
# inside in rather than drawing a hard line.
_CAVITY_FADE_PX = 2.0
_LIP_SEPARATION_PX = 1.0
_CAVITY_FEATHER = 0.6  # Gaussian sigma (px) of the cavity's edge
_SEAM_MISMATCH_PX, _SEAM_MARGIN_PX = 1.0, 2.0  # see _drawn_across_seam
_STRAY_FILL_PX = 2.0  # Gaussian sigma (px) of the fill over what the warp drew across the seam beside the gap
_SAG_PX = 0.5  # the upper lip's inner edge may sag this far (px) below a smooth curve
_LOWER_EDGE_STRAY_PX = 1.0  # the lower lip's inner edge may stray this far (px) from a smooth curve, up or down
_GIVEN_BACK_MARGIN_PX = 1.5  # past the lower lip's contour, the photo's opening still darkens its anti-aliased edge
# Closed lips of a portrait that showed its teeth meet in a crease drawn over
# the rig's seam: a crisp line (Gaussian sigma, px), and the upper lip's
# shadow on the lower lip fading over this many px.
_CREASE_OPACITY, _CREASE_SIGMA_PX = 0.9, 0.6
_CREASE_SHADOW, _CREASE_SHADOW_PX = 0.15, 1.2
# The crease follows the seam smoothed along the mouth (Gaussian sigma, in mouth widths): the seam's points come from
# the photo's pixels and step by 2-3 px between neighbours, which a crisp line drew as a zigzag.
_CREASE_SMOOTHING = 0.07
_SUBPIXEL_BITS = 2
# Teeth, in mouth widths (the upper teeth's edge is the rig's InnerMouth.teeth_edge);
# the lower teeth show as the jaw opens.
# Each tooth along the dental arch from the middle out (central and lateral incisor, canine, two premolars, first
# molar), in mouth widths (a mouth about 50 mm wide): upper 8.5, 6.5, 7.5, 7, 6.5 and 10 mm, lower 5, 5.5, 6.5, 7, 7
# and 11 mm. Seen from the front, the arch (a circle of this radius in mouth widths, about 30 mm, the lower inside the
# upper) turns them away: the further out a tooth, the smaller a share of its width shows.
_UPPER_TEETH, _UPPER_ARCH = (0.17, 0.13, 0.15, 0.14, 0.13, 0.2), 0.6
_LOWER_TEETH, _LOWER_ARCH = (0.1, 0.11, 0.13, 0.14, 0.14, 0.22), 0.55
_TOOTH_GAP_SHADE = 0.92
_TOOTH_ROUNDING_SHADE = 0.1  # a tooth's sides, turned away from the light, against its middle
_ROUNDED_FROM_PX = 6.0  # central incisors this wide (px) show no rounding, twice as wide all of it
_TEETH_TOP_SHADE = 0.85  # under the upper lip's shadow
# The lower teeth rise over the lower lip from openings (at the middle) of
# _LOWER_TEETH_FROM mouth widths, over _LOWER_TEETH_RAMP; they show over this
# share of the opening, up to _LOWER_TEETH_MAX mouth widths (about half an
# incisor's crown) and at least _LOWER_TEETH_MIN_PX however small the face.
_LOWER_TEETH_FROM, _LOWER_TEETH_RAMP, _LOWER_TEETH_OF_OPENING, _LOWER_TEETH_MAX = 0.1, 0.1, 0.3, 0.1
_LOWER_TEETH_MIN_PX, _LOWER_TEETH_SHADE = 2.5, 0.85
# The lower teeth's biting edge catches the light and they fall into the lower lip's shadow towards it (this share of
# their light at the lip).
_LOWER_TEETH_LIP_SHADE = 0.8
# The tongue rises over the lower lip from openings this wide (mouth widths),
# to this share of the opening's height in the middle.
_TONGUE_FROM, _TONGUE_RAMP, _TONGUE_WIDTH, _TONGUE_HEIGHT = 0.08, 0.12, 0.35, 0.35
# Expressions reduce to steady face parameters scaled by their intensity.
_EXPRESSION_POSE = {"neutral": {}, "friendly": {"smile": 0.8}, "serious": {"serious": 1.0}}
# Columns of a pose (PARAMETERS order).
_FACE_COLUMNS = [PARAMETERS.index(name) for name in FACE_PARAMETERS]
_BLINK_COLUMNS = {name: PARAMETERS.index(name) for name in BLINK_PARAMETERS}
_HEAD_COLUMNS = [PARAMETERS.index(name) for name in HEAD_PARAMETERS]


def frame_count(n_samples: int, sample_rate: int, fps: int) -> int:
    """Frames covering n_samples of audio at fps (at least one)."""
    return max(1, round(n_samples * fps / sample_rate))


def animate(
    image: np.ndarray,
    audio: np.ndarray,
    sample_rate: int,
    *,
    fps: int = 25,
    phonemes: Sequence[Phoneme] | None = None,
    seed: int = 0,
    max_side: int = 512,
    rig: PortraitRig | None = None,
    expression: str = "neutral",
    intensity: float = 0.5,
    device: str | None = None,
    neural_model: str | os.PathLike[str] | None = None,
) -> Iterator[np.ndarray]:
    """Lazily rendered (H, W, 3) uint8 RGB frames of the portrait speaking mono float audio (N,).

    image: RGB uint8 (h, w, 3) of one person, any size (ignored when a prebuilt rig
    is given). phonemes: (start s, end s, IPA) from the synthesizer, or None to
    read the mouth from the audio alone. expression: one of EXPRESSIONS, held at
    intensity 0..1. device: where frames are warped, one of warp.DEVICES; None
    reads CANDOR_ENGINE_DEVICE, else "auto" (torch on a CUDA GPU when there is
    one, else OpenCV). neural_model: an ONNX file fitting inference.neural's
    interface to redraw the mouth, or None for the weight-free engine alone.
    Yields exactly frame_count(len(audio), sample_rate, fps) frames at the
    rig's size; the same inputs, seed and device give the same frames. Inputs,
    device and model are checked before the first frame is asked for.
    """
    _check_audio(audio, sample_rate)
    if fps <= 0:
        raise ValueError("fps must be positive")
    if expression not in EXPRESSIONS:
        raise InferenceError(
            "invalid_expression", f"expression must be one of {', '.join(EXPRESSIONS)}, not {expression!r}"
        )
    if not 0.0 <= intensity <= 1.0:
        raise InferenceError("invalid_expression", f"expression intensity must be between 0 and 1, not {intensity}")
    warper = engine_warper(device)
    rig = rig if rig is not None else portrait_rig(image, max_side=max_side)
    mouth = neural_mouth(neural_model, rig) if neural_model is not None else None
    track = animation_track(
        audio,
        sample_rate,
        frame_count(len(audio), sample_rate, fps),
        fps,
        phonemes=phonemes,
        seed=seed,
        expression=expression,
        intensity=intensity,
    )
    return _frames(rig, track, warper, mouth, audio, sample_rate, fps)


def _frames(
    rig: PortraitRig,
    track: np.ndarray,
    warper: Warper,
    mouth: NeuralMouth | None,
    audio: np.ndarray,
    sample_rate: int,
    fps: int,
) -> Iterator[np.ndarray]:
    """(H, W, 3) uint8 frames of the rig posed by track (n, len(PARAMETERS)), rendered warper.frames_per_batch at a
    time."""
    for start in range(0, len(track), warper.frames_per_batch):
        poses = track[start : start + warper.frames_per_batch]
        frames = _posed_faces(rig, poses, warper)
        if mouth is not None:
            mouth.redraw(frames, mel_windows(audio, sample_rate, (np.arange(start, start + len(poses)) + 0.5) / fps))
        _move_eyelids_and_head(rig, poses, frames, warper)
        yield from frames


def animation_track(
    audio: np.ndarray,
    sample_rate: int,
    n_frames: int,
    fps: int,
    *,
    phonemes: Sequence[Phoneme] | None = None,
    seed: int = 0,
    expression: str = "neutral",
    intensity: float = 0.5,
) -> np.ndarray:
    """(n_frames, len(PARAMETERS)) float32 pose per frame for mono float audio (N,), in PARAMETERS order."""
    audio = np.asarray(audio, np.float64)
    level = speech_level(audio, sample_rate, n_frames, fps)
    if phonemes is None:
        mouth = acoustic_track(audio, sample_rate, n_frames, fps)
    else:
        mouth = viseme_track(phonemes, n_frames, fps, level)
    track = np.zeros((n_frames, len(PARAMETERS)), np.float32)
    column = {name: i for i, name in enumerate(PARAMETERS)}
    for name, channel in (
        ("jaw_open", JAW),
        ("lip_spread", SPREAD),
        ("lip_round", ROUND),
        ("lip_close", CLOSE),
        ("lip_dental", DENTAL),
    ):
        track[:, column[name]] = mouth[:, channel]
    for name, value in _EXPRESSION_POSE[expression].items():
        track[:, column[name]] = value * intensity
    # Sealed lips press together: the rounding a bilabial takes from the sounds beside it would push their outer
    # edges up and down into a pout, which the quality judge's face mesh reads as lips parted (the astronaut's
    # sealed lips rounded 0.3-0.5: 0.05-0.09 eye distances; unrounded: 0.03), though no gap shows between them.
    track[:, column["lip_round"]] *= 1 - mouth[:, CLOSE]
    # A smile relaxes where the lips round.
    track[:, column["smile"]] *= 1 - 0.6 * mouth[:, ROUND]
    track[:, column["brow_raise"]] = brow_track(level, fps) * (1 - 0.6 * track[:, column["serious"]])
    blink = blink_track(n_frames, fps, seed)
    track[:, column["blink_left"]] = track[:, column["blink_right"]] = blink
    track[:, [column[name] for name in HEAD_PARAMETERS]] = head_track(level, fps, seed)
    return track


def render_frame(rig: PortraitRig, params: Mapping[str, float], *, device: str | None = None) -> np.ndarray:
    """(H, W, 3) uint8 RGB frame of the rig posed by parameters name -> value (absent ones are 0).

    Face and blink parameters run 0..1, head parameters are degrees. All zero
    reproduces the portrait (with the inside of the mouth redrawn when its lips
    are parted). device: as for animate.
    """
    unknown = set(params) - set(PARAMETERS)
    if unknown:
        raise ValueError(f"unknown animation parameters: {sorted(unknown)}")
    warper = engine_warper(device)
    pose = np.array([[params.get(name, 0.0) for name in PARAMETERS]], np.float32)
    frames = _posed_faces(rig, pose, warper)
    _move_eyelids_and_head(rig, pose, frames, warper)
    return cast(np.ndarray, frames[0])


def _posed_faces(rig: PortraitRig, poses: np.ndarray, warper: Warper) -> np.ndarray:
    """(B, H, W, 3) uint8 frames with the face posed by poses (B, len(PARAMETERS)) float32 and the inside of the mouth
    painted."""
    faces = poses[:, _FACE_COLUMNS]
    frames = np.empty((len(poses), *rig.image.shape), np.uint8)
    frames[:] = rig.image
    moving = np.flatnonzero(faces.any(axis=1) | rig.lips_parted)
    if moving.size:
        x, y, w, h = rig.roi
        displacements = _combine_each(faces[moving], rig.fields, rig.rest)
        frames[moving, y : y + h, x : x + w] = warper.warp(rig.base, displacements, x, y)
        for i, displacement in zip(moving, displacements, strict=True):
            _paint_inner_mouth(frames[i], rig.mouth, faces[i], rig.image, displacement, (x, y))
    return frames


def _move_eyelids_and_head(rig: PortraitRig, poses: np.ndarray, frames: np.ndarray, warper: Warper) -> None:
    """Close the eyelids and turn the head in frames (B, H, W, 3) uint8 as poses (B, len(PARAMETERS)) say, in place."""
    for name, eyelid in rig.eyelids.items():
        closures = poses[:, _BLINK_COLUMNS[name]]
        for i in np.flatnonzero(closures):
            _close_eyelid(frames[i], rig.image, eyelid, float(closures[i]), warper)
    heads = poses[:, _HEAD_COLUMNS]
    moving = np.flatnonzero(heads.any(axis=1))
    if moving.size:
        x, y, w, h = rig.head_roi
        displacements = _combine_each(heads[moving], rig.head_fields)
        sources = frames if len(moving) == len(frames) else frames[moving]  # spare copying whole frames
        frames[moving, y : y + h, x : x + w] = warper.warp(sources, displacements, x, y)


def _combine(values: np.ndarray, fields: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """start (...) plus the sum of values (K,) times fields (K, ...), as float32."""
    return cast(np.ndarray, _combine_each(values[None], fields, start)[0])


def _combine_each(values: np.ndarray, fields: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """(B, ...) float32: for each row of values (B, K), start (...) plus the sum of its values times fields (K, ...).

    Element-wise over the non-zero values only: a BLAS product would spin up
    threads that stall on a busy machine.
    """
    total = np.empty((len(values), *fields.shape[1:]), np.float32)
    total[:] = 0.0 if start is None else start
    for combined, row in zip(total, values, strict=False):
        for index in np.flatnonzero(row):
            combined += row[index] * fields[index]
    return total


def _close_eyelid(frame: np.ndarray, image: np.ndarray, eyelid: Eyelid, closure: float, warper: Warper) -> None:
    """Draw the upper lid lowered by closure 0..1 over frame (H, W, 3) uint8, in place.

    The lid margin and its lashes move down over the eye, which stays where it
    is; above them the lid shows the skin over the lashes, mirrored so that it
    joins the unchanged skin above without a seam.
    """
    margin = eyelid.lid + closure * eyelid.travel
    span = margin - eyelid.lid + eyelid.overlap  # the lid's visible height now
    above = margin - eyelid.depth  # each pixel's height above the lowered margin
    stretch = np.minimum(1.0, eyelid.skin / np.maximum(span - eyelid.overlap, 1e-6))
    skin = eyelid.lid - eyelid.overlap - (span - above) * stretch
    source_depth = np.where(above <= eyelid.overlap, eyelid.lid - above, skin)
    source = eyelid.foot + source_depth[..., None] * eyelid.down
    coverage = np.clip(above + 0.5, 0.0, 1.0) * np.clip(span - above + 0.5, 0.0, 1.0)
    coverage *= eyelid.travel > 0
    x, y, w, h = eyelid.box
    region = frame[y : y + h, x : x + w]
    alpha = coverage[..., None]
    lid = warper.remap(image, source.astype(np.float32)[None])[0]
    region[:] = np.clip(region * (1 - alpha) + lid * alpha + 0.5, 0, 255).astype(np.uint8)


def _paint_inner_mouth(
    frame: np.ndarray,
    mouth: InnerMouth,
    face: np.ndarray,
    photo: np.ndarray,
    displacement: np.ndarray,
    origin: tuple[int, int],
) -> None:
    """Paint the inside of the mouth where the lips parted, in place on frame (H, W, 3) uint8.

    face: (len(FACE_PARAMETERS),) values; photo: the portrait (H, W, 3);
    displacement: (h, w, 2) the warp's field over the box at origin (x, y). The
    warp fills the gap with stretched lip texture, and beside the gap's corners
    it draws skin from across the lips' seam (see _drawn_across_seam), which is
    filled in from the lips around it (_fill_from_around). A shaded cavity replaces the gap:
    lit just inside the lips and dark at the throat, with the upper teeth
    hanging from the still upper jaw down to a smooth edge (the photo's own
    where it shows them, else drawn, shaded towards the corners and lit like
    the face), and the tongue and the lower teeth rising over the lower lip as
    the jaw opens.
    """
    polygon = _combine(face, mouth.polygon_motion, mouth.polygon_rest)
    upper, lower = polygon[mouth.upper], polygon[mouth.lower]
    middle = len(upper) // 2
    parting = float(np.linalg.norm(lower[middle] - upper[middle])) - _LIP_SEPARATION_PX
    strength = min(max(parting / _CAVITY_FADE_PX, 0.0), 1.0)
    if mouth.crease is not None and strength < 1.0:
        _draw_lip_crease(frame, mouth.crease, polygon, len(upper), 1.0 - strength)
    if strength == 0.0:
        return
    # The upper lip's inner edge is smooth; where the contour sags into the
    # opening (a photo's lip edge found on its teeth) the opening is painted up
    # to the smooth edge above the sag, so no notch of lip hangs into the teeth.
    upper = polygon[mouth.upper] = np.minimum(upper, _upper_envelope(upper))
    # The lower lip's inner edge is smooth too: a step in its contour (the closed portrait's mesh steps 3.7 px between
    # two points) hung a tab of teeth and cavity into the lip.
    contour = lower
    lower = polygon[mouth.lower] = _near_parabola(contour)
    height, width = frame.shape[:2]
    pad = 3  # room for the feathered edge
    outline = np.vstack([polygon, contour, mouth.seam])
    x0, y0 = np.maximum(np.floor(outline.min(axis=0)).astype(int) - pad, 0)
    x1 = min(int(np.ceil(outline[:, 0].max())) + pad + 1, width)
    y1 = min(int(np.ceil(outline[:, 1].max())) + pad + 1, height)
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    vertices = np.round((polygon - (x0, y0)) * (1 << _SUBPIXEL_BITS)).astype(np.int32)
    cv2.fillPoly(mask, [vertices], 255, cv2.LINE_AA, shift=_SUBPIXEL_BITS)
    coverage = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), _CAVITY_FEATHER)
    xs = np.arange(x0, x1, dtype=np.float32)
    ys = np.arange(y0, y1, dtype=np.float32)[:, None]
    top = np.interp(xs, upper[:, 0], upper[:, 1])
    bottom = np.interp(xs, lower[:, 0], lower[:, 1])
    region = frame[y0:y1, x0:x1]
    # Beside the gap the lips are there: what the warp drew across the seam outside it is filled in from them.
    stray = _drawn_across_seam(mouth.seam, displacement, origin, (x0, y0, x1, y1))
    # Under the opening the lower lip's own texture shows; the shards are beside its corners.
    beside = (mask < 128) & (ys <= bottom)
    # Where the contour dipped under the smooth edge, the lower lip is there: what the warp drew (the photo's own
    # opening, stretched) is filled in from the lip around it too.
    contour_bottom = np.interp(xs, contour[:, 0], contour[:, 1])
    dipped = contour_bottom - bottom > 0.5
    given_back = dipped & (ys > bottom) & (ys < contour_bottom + _GIVEN_BACK_MARGIN_PX) & (mask < 128)
    holes = (stray & beside) | given_back
    if holes.any():
        _fill_from_around(region, stray | (mask >= 128) | given_back, holes)
    # The upper teeth belong to the skull: their edge stays where it was at rest.
    teeth_edge = np.interp(xs, mouth.polygon_rest[mouth.upper, 0], mouth.teeth_edge)
    gap = np.maximum(bottom - top, 1e-3)
    centre = (upper[0, 0] + upper[-1, 0]) / 2
    half = max((upper[-1, 0] - upper[0, 0]) / 2, 1.0)
    corner = np.clip(np.abs(xs - centre) / half, 0.0, 1.0)
    corner_shade = 1 - _CORNER_SHADE * corner**2
    # Depth: the throat is darkest behind the teeth's edge and lit towards the
    # lips, however small the opening (in px) is.
    behind = np.clip((ys - teeth_edge) / np.maximum(bottom - teeth_edge, 1.0), 0.0, 1.0)
    inside = np.clip(np.minimum(ys - top, bottom - ys) / np.maximum(gap / 2, 1.0), 0.0, 1.0)
    depth = inside * np.sqrt(1 - behind)
    colour = corner_shade[..., None] * (mouth.cavity + (mouth.throat - mouth.cavity) * depth[..., None])
    wide = gap / mouth.width
    # The lower jaw's floor: a sliver of tongue under the lower teeth, a mound on wider openings.
    # The photo's own teeth cover the rest.
    tongue_show = np.clip((wide - _TONGUE_FROM) / _TONGUE_RAMP, 0.0, 1.0)
    across = (xs - centre) / (_TONGUE_WIDTH * mouth.width)
    mound = np.clip(1 - across**2, 0.0, 1.0) * tongue_show
    tongue_top = bottom - _TONGUE_HEIGHT * gap * mound
    tongue = np.clip(ys - tongue_top + 0.5, 0.0, 1.0) * (mound > 0)
    # Lit on its front, falling into shadow towards its back.
    tongue_light = 0.7 + 0.3 * np.clip((ys - tongue_top) / np.maximum(bottom - tongue_top, 1.0), 0.0, 1.0)
    colour = _over(colour, (corner_shade * tongue_light)[..., None] * mouth.tongue, tongue)
    # Lower teeth: a band over the lower lip, its top a smooth curve along the lip, taller as the jaw opens
    # (read at the opening's middle, so that a ragged lip edge does not make their top ragged).
    opening = float(np.linalg.norm(lower[middle] - upper[middle])) / mouth.width
    lower_show = float(np.clip((opening - _LOWER_TEETH_FROM) / _LOWER_TEETH_RAMP, 0.0, 1.0)) * max(
        min(_LOWER_TEETH_OF_OPENING * opening, _LOWER_TEETH_MAX) * mouth.width, _LOWER_TEETH_MIN_PX
    )
    lower_lip = np.polyval(np.polyfit(lower[:, 0], lower[:, 1], 2), xs)
    lower_top = lower_lip - lower_show * (1 - corner**2)
    lower_teeth = np.clip(ys - lower_top + 0.5, 0.0, 1.0) * (lower_show > 0.5) * np.clip((0.7 - corner) / 0.2, 0.0, 1.0)
    # In the mouth's shadow (kept as pale as enamel: the tongue's warmth turned them pink), lit at their edge and
    # darker towards the lip, with the gaps between them: a flat pale band read as a block, not as teeth.
    towards_lip = np.clip((ys - lower_top) / np.maximum(lower_lip - lower_top, 1.0), 0.0, 1.0)
    lower_shade = (
        _LOWER_TEETH_SHADE
        * corner_shade
        * (1 - (1 - _LOWER_TEETH_LIP_SHADE) * towards_lip)
        * _tooth_separation(xs - centre, _LOWER_TEETH, _LOWER_ARCH, mouth.width)
    )
    colour = _over(colour, lower_shade[..., None] * mouth.teeth, lower_teeth)
    # Upper teeth: from under the lip down to their edge, darker under the lip and between incisors.
    teeth = np.clip(teeth_edge - ys + 0.5, 0.0, 1.0) * np.clip((1 - corner) / 0.2, 0.0, 1.0)
    vertical = np.clip((ys - top) / np.maximum(teeth_edge - top, 1.0), 0.0, 1.0)
    separation = _tooth_separation(xs - centre, _UPPER_TEETH, _UPPER_ARCH, mouth.width)
    tooth_shade = (_TEETH_TOP_SHADE + (1 - _TEETH_TOP_SHADE) * vertical) * separation * (1 - 0.5 * corner**2)
    colour = _over(colour, tooth_shade[..., None] * mouth.teeth, teeth)
    if mouth.photo_teeth is not None:
        # The photo's own upper teeth stay where they are; the lips move over them.
        colour = _over(colour, photo[y0:y1, x0:x1], mouth.photo_teeth[y0:y1, x0:x1])
    alpha = (coverage * strength)[..., None]
    region[:] = np.clip(region * (1 - alpha) + colour * alpha + 0.5, 0, 255).astype(np.uint8)


def _drawn_across_seam(
    seam: np.ndarray, displacement: np.ndarray, origin: tuple[int, int], box: tuple[int, int, int, int]
) -> np.ndarray:
    """(y1 - y0, x1 - x0) bool over box (x0, y0, x1, y1): the pixels where the warp drew texture from the
    other side of the lips' seam (S, 2) that does not move with them, by the field (h, w, 2) over the box at origin.

    The warp samples each pixel at itself less its own displacement, a close
    stand-in for the inverse of the lips' motion wherever it is smooth. Across
    the seam it is not: as the jaw drops, the pixels under the seam take the
    lower lip's displacement and sample the upper lip and the skin above it
    (stretched into pale shards, worst beside the corners, where the seam runs
    past the gap's polygon). There the source's own displacement differs from
    the pixel's by more than _SEAM_MISMATCH_PX; a mouth moved as a whole (a
    smile's lift) keeps them equal. Only sources _SEAM_MARGIN_PX or more past
    the seam count: nearer, the field's step at the seam blurs the comparison,
    which then flickers from pixel to pixel (a dotted edge where it was filled).
    """
    x0, y0, x1, y1 = box
    left, top = origin
    xs = np.arange(x0, x1, dtype=np.float32)[None, :]
    ys = np.arange(y0, y1, dtype=np.float32)[:, None]
    here = displacement[y0 - top : y1 - top, x0 - left : x1 - left]
    source_x, source_y = xs - here[..., 0], ys - here[..., 1]
    there = cv2.remap(displacement, source_x - left, source_y - top, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mismatch = np.linalg.norm(there - here, axis=2) > _SEAM_MISMATCH_PX
    first, last = seam[0, 0], seam[-1, 0]
    along = (xs > first) & (xs < last) & (source_x > first) & (source_x < last)
    above_here = ys < np.interp(xs, seam[:, 0], seam[:, 1])
    beyond = source_y - np.interp(source_x, seam[:, 0], seam[:, 1])
    across = np.where(above_here, beyond > _SEAM_MARGIN_PX, beyond < -_SEAM_MARGIN_PX)
    return cast(np.ndarray, along & across & mismatch)


def _fill_from_around(region: np.ndarray, unsound: np.ndarray, holes: np.ndarray) -> None:
    """Fill the holes (h, w) bool of region (h, w, 3) uint8 in place with the Gaussian-weighted mean (sigma
    _STRAY_FILL_PX) of the pixels around them that are not unsound (h, w) bool."""
    sound = (~unsound).astype(np.float32)
    weight = cv2.GaussianBlur(sound, (0, 0), _STRAY_FILL_PX)
    total = cv2.GaussianBlur(region.astype(np.float32) * sound[..., None], (0, 0), _STRAY_FILL_PX)
    filled = holes & (weight > 1e-3)
    region[filled] = np.clip(total[filled] / weight[filled, None] + 0.5, 0, 255).astype(np.uint8)


def _tooth_separation(across: np.ndarray, widths: tuple[float, ...], arch: float, mouth_px: float) -> np.ndarray:
    """Shade (same shape as across, 1 on a tooth's middle, about _TOOTH_GAP_SHADE in a gap) of teeth of these widths
    (mouth widths, from the middle out) along an arch of radius arch (mouth widths), seen from the front at across px
    from the mouth's middle; the mouth is mouth_px wide."""
    radius = arch * mouth_px
    angle = np.arcsin(np.clip(np.abs(across) / radius, 0.0, 1.0))
    gaps = np.concatenate([[0.0], np.cumsum(widths)]) * mouth_px
    along = (angle * radius)[..., None]
    tooth = np.clip(np.searchsorted(gaps, along[..., 0]), 1, len(gaps) - 1)
    half = (gaps[tooth] - gaps[tooth - 1]) / 2
    from_gap = np.abs(along - gaps).min(axis=-1)  # along the arch, px
    # Each tooth is rounded: lit on its middle, turning into shade towards its neighbours; on teeth a few pixels wide
    # that is no more than noise (the judge read a small face's thin openings as wider), so it fades out there.
    shown = _TOOTH_ROUNDING_SHADE * np.clip((widths[0] * mouth_px - _ROUNDED_FROM_PX) / _ROUNDED_FROM_PX, 0.0, 1.0)
    rounding = 1 - shown * (1 - np.clip(from_gap / half, 0.0, 1.0)) ** 2
    seen = from_gap * np.cos(angle)
    return cast(np.ndarray, rounding * (1 - (1 - _TOOTH_GAP_SHADE) * np.exp(-(seen**2))))


def _upper_envelope(points: np.ndarray) -> np.ndarray:
    """(S, 2) points (S, 2) of an upper lip's inner edge, left to right, with y no lower than a parabola fitted to
    the edge without its sags: points more than _SAG_PX below the fit are left out and the fit repeated."""
    kept = np.ones(len(points), bool)
    for _ in range(3):
        fit = np.polyfit(points[kept, 0], points[kept, 1], 2)
        sagging = points[:, 1] - np.polyval(fit, points[:, 0]) > _SAG_PX
        if not (kept & sagging).any() or (kept & ~sagging).sum() < 3:
            break
        kept &= ~sagging
    envelope = points.copy()
    envelope[:, 1] = np.minimum(points[:, 1], np.polyval(fit, points[:, 0]) + _SAG_PX)
    return envelope


def _near_parabola(points: np.ndarray) -> np.ndarray:
    """(S, 2) points (S, 2) of a lip's inner edge, left to right, moved to within _LOWER_EDGE_STRAY_PX (px, up or
    down) of the parabola fitted to them."""
    fit = np.polyval(np.polyfit(points[:, 0], points[:, 1], 2), points[:, 0])
    near = points.copy()
    near[:, 1] = fit + np.clip(points[:, 1] - fit, -_LOWER_EDGE_STRAY_PX, _LOWER_EDGE_STRAY_PX)
    return near


def _draw_lip_crease(frame: np.ndarray, crease: np.ndarray, polygon: np.ndarray, n_upper: int, closed: float) -> None:
    """Draw the crease where the lips meet along the middle of the mouth's polygon, in place on frame (H, W, 3) uint8.

    crease: (3,) RGB; polygon: (K, 2) the lips' inner edges now (left corner,
    n_upper upper points, right corner, lower points back); closed: 0..1 how
    nearly the lips touch. A crisp line (Gaussian across, in px) with the
    upper lip's shadow fading down the lower lip below it.
    """
    lower = polygon[n_upper + 2 :][::-1]
    line = np.vstack([polygon[0], (polygon[1 : n_upper + 1] + lower) / 2, polygon[n_upper + 1]])
    line = line[np.argsort(line[:, 0], kind="stable")]
    height, width = frame.shape[:2]
    reach = 3 * _CREASE_SIGMA_PX
    x0, y0 = max(int(np.floor(line[:, 0].min())), 0), max(int(np.floor(line[:, 1].min() - reach)), 0)
    x1 = min(int(np.ceil(line[:, 0].max())) + 1, width)
    y1 = min(int(np.ceil(line[:, 1].max() + 3 * _CREASE_SHADOW_PX)) + 1, height)
    if x1 <= x0 or y1 <= y0:
        return
    xs = np.arange(x0, x1, dtype=np.float32)
    ys = np.arange(y0, y1, dtype=np.float32)[:, None]
    middle = np.interp(xs, line[:, 0], line[:, 1])
    middle = gaussian_filter1d(middle, _CREASE_SMOOTHING * (line[-1, 0] - line[0, 0]), mode="nearest")
    # Distance across the line: the vertical offset foreshortened by the line's slope.
    across = (ys - middle) / np.sqrt(1 + np.gradient(middle) ** 2)
    ends = np.clip(xs - line[0, 0] + 0.5, 0.0, 1.0) * np.clip(line[-1, 0] - xs + 0.5, 0.0, 1.0)
    core = np.exp(-0.5 * (across / _CREASE_SIGMA_PX) ** 2) * ends
    shadow = (
        _CREASE_SHADOW
        * closed
        * np.exp(-np.maximum(across, 0.0) / _CREASE_SHADOW_PX)
        * (across > 0)
        * ends
        * (1 - core)
    )
    alpha = (_CREASE_OPACITY * closed * core)[..., None]
    region = frame[y0:y1, x0:x1]
    shaded = region * (1 - shadow[..., None])
    region[:] = np.clip(shaded * (1 - alpha) + crease * alpha + 0.5, 0, 255).astype(np.uint8)


def _over(below: np.ndarray, above: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """(h, w, 3) of colour above (h, w, 3) laid over below (h, w, 3) with coverage alpha (h, w) 0..1."""
    alpha = alpha[..., None]
    return cast(np.ndarray, below * (1 - alpha) + above * alpha)


def _check_audio(audio: np.ndarray, sample_rate: int) -> None:
    if not isinstance(audio, np.ndarray) or audio.ndim != 1 or not np.issubdtype(audio.dtype, np.floating):
        raise InferenceError("invalid_audio", "audio must be mono floating-point samples (a 1-D float array)")
    if audio.size == 0:
        raise InferenceError("invalid_audio", "the audio is empty")
    if not np.all(np.isfinite(audio)):
        raise InferenceError("invalid_audio", "the audio contains NaN or infinite samples")
    if sample_rate <= 0:
        raise InferenceError("invalid_audio", f"invalid sample rate {sample_rate}")
