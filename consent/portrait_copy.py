"""Not made from the portrait: refuses a capture whose face is the portrait's own pixels, warped.

A photo animated in 2-D, lifted onto a depth map, or run through a talking-head engine keeps the portrait's fine
texture: every pore, hair, highlight and JPEG speck sits where the portrait has it, only moved. A real camera
capture of the same person is other pixels of the same face: the same features, but its fine texture is its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import cv2
import numpy as np

# The common face both are compared on: the jaw line (landmarks 0 -> 16) FACE_WIDTH px wide in a SIDE x SIDE square.
FACE_WIDTH = 112
SIDE = 176
# The band compared: a difference of Gaussians at these sigmas (px of the common face), the texture a camera resolves
# on a face 50-200 px wide; finer (0.8, 2) and coarser (1.5, 4), (2, 5) bands separated no better on the obama set.
BAND = (1.2, 3.0)
# The window of the local correlation (Gaussian sigma, px of the common face): local, so a light gradient or a
# colour shift across the face does not lower it.
WINDOW = 5.0
# Scores above this are copies. From benchmarks/portrait_copy.py (docs/consent.md, "Not made from the portrait"):
# over the calibration set the attacks scored >= 0.90 and the genuine stand-ins <= 0.66; the threshold sits between.
COPY_THRESHOLD = 0.78


@dataclass(frozen=True)
class PortraitCopy:
    """score: the capture's fine texture correlated with the portrait's after alignment, median over frames (1 is the
    portrait's own pixels); copied: score above COPY_THRESHOLD; detail: the per-frame scores, for the audit record."""

    score: float
    copied: bool
    detail: str

    def as_record(self) -> dict[str, object]:
        return asdict(self)


def _common_face(landmarks: np.ndarray) -> np.ndarray:
    """landmarks (68, 2) moved by the similarity that puts the jaw line FACE_WIDTH wide, centred in the square."""
    width = float(np.linalg.norm(landmarks[16] - landmarks[0]))
    centre = landmarks[[0, 16, 8, 27]].mean(axis=0)
    scale = FACE_WIDTH / max(width, 1.0)
    return ((landmarks - centre) * scale + SIDE / 2).astype(np.float32)


def _aligned_gray(image: np.ndarray, landmarks: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The image (RGB uint8) warped so its landmarks fall on target, gray float32 0..1, SIDE x SIDE."""
    matrix, _ = cv2.estimateAffinePartial2D(landmarks.astype(np.float32), target)
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    if scale < 0.8:
        # Shrink by area first, so the warp does not alias a large portrait's texture.
        shrink = scale * 1.25
        image = cv2.resize(image, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        matrix, _ = cv2.estimateAffinePartial2D((landmarks * shrink).astype(np.float32), target)
    warped = cv2.warpAffine(image, matrix, (SIDE, SIDE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return cv2.cvtColor(warped, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0


def _band(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), BAND[0]) - cv2.GaussianBlur(image, (0, 0), BAND[1])


def _local_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of a and b in a Gaussian window around each pixel."""

    def mean(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (0, 0), WINDOW)

    mean_a, mean_b = mean(a), mean(b)
    covariance = mean(a * b) - mean_a * mean_b
    variance = np.maximum((mean(a * a) - mean_a**2) * (mean(b * b) - mean_b**2), 1e-10)
    return covariance / np.sqrt(variance)


def frame_scores(
    portrait: np.ndarray,
    portrait_landmarks: np.ndarray,
    frames: Sequence[np.ndarray],
    frame_landmarks: Sequence[np.ndarray],
) -> list[float]:
    """Each frame's texture correlation with the portrait, -1..1: the median over the face of the local correlation
    of the band-passed gray images, once the frame is aligned to the portrait.

    Alignment: a similarity from the 68 landmarks to a common face, then dense optical flow (DIS) from the portrait to
    the frame, which undoes a warp (a head turn, a jaw drop, a depth re-projection) to within a pixel. Flow follows
    the features of any face, so a different photo of the same person aligns as well; but only the portrait's own
    pixels bring its fine texture along.
    """
    target = _common_face(portrait_landmarks)
    reference = _aligned_gray(portrait, portrait_landmarks, target)
    reference_band = _band(reference)
    face = np.zeros((SIDE, SIDE), np.uint8)
    cv2.fillConvexPoly(face, cv2.convexHull(np.round(target).astype(np.int32)), 1)
    inside = face.astype(bool)
    flow_engine = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    rows, columns = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    scores = []
    for frame, landmarks in zip(frames, frame_landmarks, strict=True):
        aligned = _aligned_gray(frame, landmarks, target)
        flow = np.asarray(flow_engine.calc(_as_u8(reference), _as_u8(aligned), np.zeros((SIDE, SIDE, 2), np.float32)))
        warped = cv2.remap(
            aligned, columns + flow[..., 0], rows + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        scores.append(float(np.median(_local_correlation(reference_band, _band(warped))[inside])))
    return scores


def _as_u8(gray: np.ndarray) -> np.ndarray:
    return np.clip(gray * 255.0, 0, 255).astype(np.uint8)


def portrait_copy_check(
    portrait: np.ndarray,
    portrait_landmarks: np.ndarray,
    frames: Sequence[np.ndarray],
    frame_landmarks: Sequence[np.ndarray],
) -> PortraitCopy:
    """Whether the capture's face is the portrait's own pixels, warped.

    portrait: RGB uint8 (H, W, 3), any size, with its dlib 68 landmarks (68, 2); frames: a few frontal frames of the
    capture (RGB uint8, any size up to 640 px) with theirs. The score is the median of frame_scores, so one odd frame
    (a blink, a blur) does not decide.
    """
    if not frames:
        raise ValueError("portrait_copy_check needs at least one frame of the capture")
    scores = frame_scores(portrait, portrait_landmarks, frames, frame_landmarks)
    score = float(np.median(scores))
    return PortraitCopy(
        score=score,
        copied=score > COPY_THRESHOLD,
        detail=f"texture correlation with the portrait {score:.3f} (copy above {COPY_THRESHOLD}); frames: "
        + ", ".join(f"{value:.3f}" for value in scores),
    )
