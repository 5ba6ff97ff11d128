"""The visible "AI-generated" label drawn into a corner of every frame."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

LABEL_TEXT = "AI-generated"


@dataclass(frozen=True)
class _LabelPatch:
    top: int
    left: int
    colour: np.ndarray  # (h, w, 3) float32
    alpha: np.ndarray  # (h, w, 1) float32


@lru_cache(maxsize=8)
def _label_patch(height: int, width: int) -> _LabelPatch:
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
    return _LabelPatch(top=height - pad - box_h, left=pad, colour=colour, alpha=alpha)


def frame_label(frame: np.ndarray) -> np.ndarray:
    """RGB uint8 frame (H, W, 3) with the label blended into its lower-left corner (a new array)."""
    patch = _label_patch(*frame.shape[:2])
    h, w = patch.alpha.shape[:2]
    out = frame.copy()
    region = out[patch.top : patch.top + h, patch.left : patch.left + w].astype(np.float32)
    out[patch.top : patch.top + h, patch.left : patch.left + w] = (
        (region * (1.0 - patch.alpha) + patch.colour * patch.alpha).round().astype(np.uint8)
    )
    return out
