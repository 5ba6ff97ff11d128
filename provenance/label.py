"""The visible "AI-generated" label drawn into a corner of every frame.

The top-left corner by default: a browser's player draws its control bar over the bottom of the picture (on a phone
it covers the whole bottom strip while paused), so a label there would be hidden when people look at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

LABEL_TEXT = "AI-generated"
LABEL_CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
DEFAULT_LABEL_CORNER = "top-left"


@dataclass(frozen=True)
class _LabelPatch:
    top: int
    left: int
    colour: np.ndarray  # (h, w, 3) float32
    alpha: np.ndarray  # (h, w, 1) float32


@lru_cache(maxsize=16)
def _label_patch(height: int, width: int, corner: str) -> _LabelPatch:
    """The label's pixels for one frame size, made once: a dark translucent box with white text."""
    scale = max(0.35, min(height, width) / 900)
    thickness = max(1, round(scale * 2))
    (text_w, text_h), baseline = cv2.getTextSize(LABEL_TEXT, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    pad = max(4, round(text_h * 0.5))
    box_w, box_h = text_w + 2 * pad, text_h + baseline + 2 * pad
    text_mask = np.zeros((box_h, box_w), np.uint8)
    cv2.putText(
        text_mask,
        LABEL_TEXT,
        (pad, box_h - pad - baseline),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        255,
        thickness,
        cv2.LINE_AA,
    )
    text_alpha = text_mask.astype(np.float32)[..., None] / 255.0
    alpha = np.maximum(np.full_like(text_alpha, 0.55), text_alpha)
    colour = np.repeat(text_alpha * 255.0, 3, axis=2)
    top = pad if corner.startswith("top") else height - pad - box_h
    left = pad if corner.endswith("left") else width - pad - box_w
    return _LabelPatch(top=top, left=left, colour=colour, alpha=alpha)


def frame_label(frame: np.ndarray, corner: str = DEFAULT_LABEL_CORNER) -> np.ndarray:
    """RGB uint8 frame (H, W, 3) with the label blended into one of LABEL_CORNERS (a new array)."""
    if corner not in LABEL_CORNERS:
        raise ValueError(f"label corner {corner!r} is none of {', '.join(LABEL_CORNERS)}")
    patch = _label_patch(*frame.shape[:2], corner)
    h, w = patch.alpha.shape[:2]
    out = frame.copy()
    region = out[patch.top : patch.top + h, patch.left : patch.left + w].astype(np.float32)
    out[patch.top : patch.top + h, patch.left : patch.left + w] = (
        (region * (1.0 - patch.alpha) + patch.colour * patch.alpha).round().astype(np.uint8)
    )
    return out
