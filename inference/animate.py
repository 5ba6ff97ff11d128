"""Talking-portrait frames: the photo's own pixels warped by the rig, driven by speech and blinks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import cv2
import numpy as np

from .errors import InferenceError
from .motion import Phoneme, blink_track, mouth_open_track
from .rig import PARAMETERS, Eyelid, PortraitRig, portrait_rig

# Oral cavity shades as fractions of the lip colour: lit near the lips, dark inside.
_CAVITY_EDGE = 0.55
_CAVITY_DEPTH = 0.25
# Lips parted less than this (px) fade the cavity in rather than drawing a hard line.
_CAVITY_FADE_PX = 2.0
# Soft cavity edge (Gaussian sigma, px): anti-aliases without eating into the lips.
_CAVITY_FEATHER = 0.6
_SUBPIXEL_BITS = 2


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
) -> Iterator[np.ndarray]:
    """Lazily rendered (H, W, 3) uint8 RGB frames of the portrait speaking mono float audio (N,).

    image: RGB uint8 (h, w, 3) of one person, any size (ignored when a prebuilt rig
    is given). Yields exactly frame_count(len(audio), sample_rate, fps) frames at
    the rig's size. Inputs are checked before the first frame is asked for.
    """
    _check_audio(audio, sample_rate)
    if fps <= 0:
        raise ValueError("fps must be positive")
    rig = rig if rig is not None else portrait_rig(image, max_side=max_side)
    n_frames = frame_count(len(audio), sample_rate, fps)
    mouth = mouth_open_track(audio, sample_rate, n_frames, fps, phonemes)
    blink = blink_track(n_frames, fps, seed)
    return _frames(rig, mouth, blink)


def _frames(rig: PortraitRig, mouth: np.ndarray, blink: np.ndarray) -> Iterator[np.ndarray]:
    for jaw_open, closure in zip(mouth, blink):
        yield render_frame(rig, {"jaw_open": jaw_open, "blink_left": closure, "blink_right": closure})


def render_frame(rig: PortraitRig, params: Mapping[str, float]) -> np.ndarray:
    """(H, W, 3) uint8 RGB frame of the rig posed by parameters name -> 0..1 (absent ones are 0)."""
    unknown = set(params) - set(PARAMETERS)
    if unknown:
        raise ValueError(f"unknown animation parameters: {sorted(unknown)}")
    active = {name: float(value) for name, value in params.items() if value}
    frame = rig.image.copy()
    warps = {name: value for name, value in active.items() if name in rig.fields}
    if warps:
        x, y, w, h = rig.roi
        displacement = sum(value * rig.fields[name][y : y + h, x : x + w] for name, value in warps.items())
        columns, rows = np.meshgrid(np.arange(x, x + w, dtype=np.float32), np.arange(y, y + h, dtype=np.float32))
        # Backward mapping: each output pixel samples the photo where its content came from.
        source = np.stack([columns, rows], axis=-1) - displacement
        frame[y : y + h, x : x + w] = _sample(rig.image, source)
        _paint_cavity(frame, rig, warps)
    for name, eyelid in rig.eyelids.items():
        if active.get(name):
            _close_eyelid(frame, rig.image, eyelid, active[name])
    return frame


def _sample(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 image values at (h, w, 2) float32 (x, y) points, bilinear."""
    return cv2.remap(image, points, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _close_eyelid(frame: np.ndarray, image: np.ndarray, eyelid: Eyelid, closure: float) -> None:
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
    lid = _sample(image, source.astype(np.float32))
    region[:] = np.clip(region * (1 - alpha) + lid * alpha + 0.5, 0, 255).astype(np.uint8)


def _paint_cavity(frame: np.ndarray, rig: PortraitRig, params: Mapping[str, float]) -> None:
    """Paint the mouth's inside where the lips parted, in place on frame (H, W, 3) uint8.

    The warp fills that gap with stretched lip texture; a dark, feathered cavity
    shaded deeper towards its middle replaces it.
    """
    polygon = rig.cavity_rest + sum(value * rig.cavity_motion[name] for name, value in params.items())
    still, moving = rig.cavity_gap
    parting = sum(value * (rig.cavity_motion[name][moving] - rig.cavity_motion[name][still])
                  for name, value in params.items())
    strength = min(float(np.linalg.norm(parting)) / _CAVITY_FADE_PX, 1.0)
    if strength == 0.0:
        return
    height, width = frame.shape[:2]
    pad = 3  # room for the feathered edge
    x0, y0 = np.maximum(np.floor(polygon.min(axis=0)).astype(int) - pad, 0)
    x1 = min(int(np.ceil(polygon[:, 0].max())) + pad + 1, width)
    y1 = min(int(np.ceil(polygon[:, 1].max())) + pad + 1, height)
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    vertices = np.round((polygon - (x0, y0)) * (1 << _SUBPIXEL_BITS)).astype(np.int32)
    cv2.fillPoly(mask, [vertices], 255, cv2.LINE_AA, shift=_SUBPIXEL_BITS)
    coverage = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), _CAVITY_FEATHER)
    # Depth: how far inside the gap a pixel lies, relative to the gap's own size.
    gap = max(float(np.linalg.norm(polygon[moving] - polygon[still])), 1.0)
    depth = cv2.GaussianBlur(coverage, (0, 0), max(gap / 4, 1.0))
    depth /= max(float(depth.max()), 1e-6)
    shade = _CAVITY_EDGE + (_CAVITY_DEPTH - _CAVITY_EDGE) * depth
    colour = shade[..., None] * rig.lip_colour
    alpha = (coverage * strength)[..., None]
    region = frame[y0:y1, x0:x1]
    region[:] = np.clip(region * (1 - alpha) + colour * alpha + 0.5, 0, 255).astype(np.uint8)


def _check_audio(audio: np.ndarray, sample_rate: int) -> None:
    if not isinstance(audio, np.ndarray) or audio.ndim != 1 or not np.issubdtype(audio.dtype, np.floating):
        raise InferenceError("invalid_audio", "audio must be mono floating-point samples (a 1-D float array)")
    if audio.size == 0:
        raise InferenceError("invalid_audio", "the audio is empty")
    if not np.all(np.isfinite(audio)):
        raise InferenceError("invalid_audio", "the audio contains NaN or infinite samples")
    if sample_rate <= 0:
        raise InferenceError("invalid_audio", f"invalid sample rate {sample_rate}")
