"""Face detection, 68-point landmarks and 128-d identity descriptors (dlib, weights from face-recognition-models)."""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import dlib
import numpy as np

from .errors import InferenceError

# dlib's HOG detector reports a weak second "face" on clothing and background
# texture (e.g. the astronaut's suit patch scores 0.12 beside her face at 1.16).
# Real frontal faces in portraits score well above 0.3.
DETECTION_SCORE_FLOOR = 0.3

_dlib_lock = threading.Lock()


@dataclass(frozen=True)
class Face:
    """One detected face in image pixel coordinates."""

    box: tuple[int, int, int, int]  # x, y, width, height
    score: float
    landmarks: np.ndarray  # (68, 2) float32, dlib/iBUG 68-point order


def _models_dir() -> Path:
    # Located without importing the package: its __init__ needs pkg_resources.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise InferenceError("engine_unavailable", "face-recognition-models is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def model_path(filename: str) -> Path:
    """Path of one of the dlib model files shipped in face-recognition-models."""
    return _models_dir() / filename


@lru_cache(maxsize=1)
def _detector() -> Any:
    return dlib.get_frontal_face_detector()


@lru_cache(maxsize=1)
def _predictor_68() -> Any:
    return dlib.shape_predictor(str(_models_dir() / "shape_predictor_68_face_landmarks.dat"))


@lru_cache(maxsize=1)
def _descriptor_model() -> Any:
    return dlib.face_recognition_model_v1(str(_models_dir() / "dlib_face_recognition_resnet_model_v1.dat"))


def models_load() -> None:
    """Load the detector, landmark and descriptor models now (once per process), e.g. before forking workers that
    then share them instead of each loading its own.
    """
    _detector()
    _predictor_68()
    _descriptor_model()


def _as_dlib_image(image: np.ndarray) -> np.ndarray:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InferenceError("unsupported_image", "expected an RGB uint8 image of shape (H, W, 3)")
    return np.ascontiguousarray(image)


def faces_detect(image: np.ndarray, *, upsample: int = 1) -> list[Face]:
    """All faces in an RGB uint8 image (H, W, 3) scoring above the floor, best first."""
    rgb = _as_dlib_image(image)
    # Small images hide small faces; large ones are slow to scan: detect at <= 800 px.
    scale = min(1.0, 800.0 / max(rgb.shape[:2]))
    scan = (
        rgb
        if scale == 1.0
        else np.ascontiguousarray(_resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))))
    )
    with _dlib_lock:
        rects, scores, _ = _detector().run(scan, upsample, DETECTION_SCORE_FLOOR)
        faces = []
        for rect, score in sorted(zip(rects, scores, strict=False), key=lambda rs: -rs[1]):
            full = dlib.rectangle(
                round(rect.left() / scale),
                round(rect.top() / scale),
                round(rect.right() / scale),
                round(rect.bottom() / scale),
            )
            shape = _predictor_68()(rgb, full)
            points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
            box = (max(full.left(), 0), max(full.top(), 0), full.width(), full.height())
            faces.append(Face(box=box, score=float(score), landmarks=points))
    return faces


def face_single(image: np.ndarray) -> Face:
    """The one face of a portrait; InferenceError when there is none or several."""
    faces = faces_detect(image)
    if not faces:
        raise InferenceError("no_face", "no face was found in the image; use a clear, frontal photo of one person")
    if len(faces) > 1:
        raise InferenceError(
            "multiple_faces", f"{len(faces)} faces were found; the portrait must show exactly one person"
        )
    return faces[0]


def face_descriptor(image: np.ndarray, face: Face) -> np.ndarray:
    """128-d identity descriptor (float64) of a detected face."""
    rgb = _as_dlib_image(image)
    x, y, w, h = face.box
    rect = dlib.rectangle(x, y, x + w, y + h)
    with _dlib_lock:
        shape = _predictor_68()(rgb, rect)
        vector = _descriptor_model().compute_face_descriptor(rgb, shape, 1)
    return np.asarray(vector, dtype=np.float64)


def descriptor_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
