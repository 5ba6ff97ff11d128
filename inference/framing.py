"""The output's shape: the animated portrait placed on a canvas of a chosen aspect ratio and size.

The portrait is scaled to fit inside the canvas (never cropped: the face and
mouth stay whole); the rest of the canvas is the photo's own picture, scaled to
cover it and blurred, or one flat colour.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

# Aspect ratios a creator may ask for (width:height); "original" keeps the photo's own shape.
ASPECT_RATIOS = ("original", "16:9", "9:16", "1:1")
# The long side's limit: the output is at most full HD.
LONG_SIDE_MAX = 1080
LONG_SIDE_MIN = 240
# "blur": the photo extended behind the portrait, blurred; else a colour "#rrggbb".
BACKGROUND_BLUR = "blur"
# The blur's strength, as a share of the canvas's long side: strong enough that the copy reads as backdrop.
_BLUR_SHARE = 0.04


@dataclass(frozen=True)
class OutputShape:
    """aspect: one of ASPECT_RATIOS; long_side: pixels of the longer side, or None for the frame's own size;
    background: BACKGROUND_BLUR or "#rrggbb"."""

    aspect: str = "original"
    long_side: int | None = None
    background: str = BACKGROUND_BLUR

    def is_identity(self) -> bool:
        return self.aspect == "original" and self.long_side is None


def colour_parse(background: str) -> tuple[int, int, int] | None:
    """(r, g, b) of "#rrggbb", None for BACKGROUND_BLUR; ValueError for anything else."""
    if background == BACKGROUND_BLUR:
        return None
    if len(background) != 7 or background[0] != "#":
        raise ValueError(f'the background must be "{BACKGROUND_BLUR}" or a colour such as #1a2b3c')
    try:
        return int(background[1:3], 16), int(background[3:5], 16), int(background[5:7], 16)
    except ValueError:
        raise ValueError(f'the background must be "{BACKGROUND_BLUR}" or a colour such as #1a2b3c') from None


def _even(value: float) -> int:
    """H.264 in 4:2:0 needs even sides."""
    return max(2, int(round(value / 2)) * 2)


def canvas_size(frame_width: int, frame_height: int, shape: OutputShape) -> tuple[int, int]:
    """(width, height) of the output for frames of the given size: even sides, the long one shape.long_side."""
    if shape.aspect not in ASPECT_RATIOS:
        raise ValueError(f"the aspect ratio must be one of {', '.join(ASPECT_RATIOS)}")
    if shape.long_side is not None and not LONG_SIDE_MIN <= shape.long_side <= LONG_SIDE_MAX:
        raise ValueError(f"the long side must be between {LONG_SIDE_MIN} and {LONG_SIDE_MAX} pixels")
    if shape.aspect == "original":
        ratio_w, ratio_h = frame_width, frame_height
    else:
        ratio_w, ratio_h = (int(part) for part in shape.aspect.split(":"))
    long_side = shape.long_side or max(frame_width, frame_height)
    if ratio_w >= ratio_h:
        return _even(long_side), _even(long_side * ratio_h / ratio_w)
    return _even(long_side * ratio_w / ratio_h), _even(long_side)


def _background(frame: np.ndarray, width: int, height: int, colour: tuple[int, int, int] | None) -> np.ndarray:
    if colour is not None:
        return np.broadcast_to(np.array(colour, dtype=np.uint8), (height, width, 3)).copy()
    frame_h, frame_w = frame.shape[:2]
    scale = max(width / frame_w, height / frame_h)
    covered = cv2.resize(frame, (max(width, round(frame_w * scale)), max(height, round(frame_h * scale))))
    top, left = (covered.shape[0] - height) // 2, (covered.shape[1] - width) // 2
    cropped = np.ascontiguousarray(covered[top : top + height, left : left + width])
    sigma = max(2.0, _BLUR_SHARE * max(width, height))
    blurred = cv2.GaussianBlur(cropped, (0, 0), sigma)
    # Dimmed a little so the sharp portrait stands out from its own copy.
    return (blurred.astype(np.float32) * 0.7).astype(np.uint8)


def frames_framed(frames: Iterable[np.ndarray], shape: OutputShape) -> Iterator[np.ndarray]:
    """(H, W, 3) uint8 frames placed on the shape's canvas, (h, w, 3) each, centred and scaled to fit.

    The background is made once from the first frame (the still photo around the
    face does not move), so each later frame costs one resize and one copy.
    Frames pass unchanged when the shape is the identity.
    """
    if shape.is_identity():
        yield from frames
        return
    colour = colour_parse(shape.background)
    background: np.ndarray | None = None
    placement: tuple[int, int, int, int] = (0, 0, 0, 0)
    for frame in frames:
        if background is None:
            frame_h, frame_w = frame.shape[:2]
            width, height = canvas_size(frame_w, frame_h, shape)
            background = _background(frame, width, height, colour)
            scale = min(width / frame_w, height / frame_h)
            fitted_w, fitted_h = min(width, round(frame_w * scale)), min(height, round(frame_h * scale))
            placement = ((height - fitted_h) // 2, (width - fitted_w) // 2, fitted_w, fitted_h)
        top, left, fitted_w, fitted_h = placement
        canvas = background.copy()
        interpolation = cv2.INTER_AREA if fitted_w < frame.shape[1] else cv2.INTER_LINEAR
        canvas[top : top + fitted_h, left : left + fitted_w] = cv2.resize(
            frame, (fitted_w, fitted_h), interpolation=interpolation
        )
        yield canvas
