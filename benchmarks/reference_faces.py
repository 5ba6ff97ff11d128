"""The real portraits the judges use, and what the quality judge measures of each before it sees any frame.

Shared by benchmarks/quality.py, benchmarks/recognition.py and the overlay below; it depends on the face mesh
(benchmarks/face_mesh.py), never the other way round.

    python -m benchmarks.reference_faces --overlay var/quality/face_mesh.png
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import dlib
import numpy as np

from benchmarks import face_mesh
from inference.faces import model_path

# Skin reference: the cheeks beside the nostrils (eye distances from the nose base: across, up).
_CHEEK_ACROSS, _CHEEK_UP = (0.45, 0.75), (0.35, 0.05)
# Head (face and hair) around the eyes, in eye distances: excluded from the background.
_HEAD_SIDE, _HEAD_UP, _HEAD_DOWN = 1.75, 2.3, 2.3
# The eyes' dark pixels (iris, pupil) are counted in a band above the eye's corner line (in eye
# distances), inset from the corners, darker than this share of the eye's highlights.
_EYE_BAND_TOP, _EYE_BAND_BOTTOM, _EYE_INSET, _EYE_DARK = 0.12, 0.0, 0.2, 0.5


_DATA = Path(__file__).parent / "data"
# The benchmark portraits beyond the first two, and what each covers. Paths are under benchmarks/data: the
# face-matching calibration set (faces/, sources and licences in its manifest.json; 256 px crops) and
# portraits/ (its own manifest.json).
BENCHMARK_PORTRAITS = {
    "closed": ("faces/obama/4.jpg", "closed mouth, neutral"),
    "smile_teeth": ("faces/alex_lacamoire/1.jpg", "broad smile showing both rows of teeth, beard"),
    "mid_speech": ("faces/obama/2.jpg", "photo taken mid-speech: mouth open, teeth showing"),
    "open_speaking": ("faces/deepface_04/4.jpg", "mouth open mid-word, lower teeth showing"),
    "glasses": ("faces/deepface_09/1.jpg", "glasses, smile with teeth, beard"),
    "small_face": ("portraits/group_small_face.jpg", "small face (~110 px) cropped from a group photo, glasses, beard"),
    "beard_shadow": ("faces/deepface_05/4.jpg", "full beard, closed mouth, dark background"),
}


def portraits() -> dict[str, np.ndarray]:
    """The two first real photos: scikit-image's astronaut (smiling, lips parted) and Grace Hopper (closed)."""
    import matplotlib.cbook
    from skimage import data

    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return {"astronaut": data.astronaut(), "hopper": cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)}


def benchmark_portraits() -> dict[str, np.ndarray]:
    """Every benchmark portrait: the first two and BENCHMARK_PORTRAITS, RGB uint8."""
    photos = portraits()
    for name, (path, _) in BENCHMARK_PORTRAITS.items():
        photos[name] = cv2.cvtColor(cv2.imread(str(_DATA / path)), cv2.COLOR_BGR2RGB)
    return photos


@dataclass(frozen=True)
class Reference:
    """What the judge knows about a portrait before it sees any frame (all in image pixels)."""

    image: np.ndarray  # (H, W, 3) uint8 RGB at the rendered size
    box: dlib.rectangle  # from the CNN detector
    region: face_mesh.Region  # where the face mesh looks in every frame
    points: np.ndarray  # (468, 3) float face mesh
    eye_distance: float
    descriptor: np.ndarray  # (128,)
    background: np.ndarray  # (H, W) bool: outside face and hair
    eye_dark: float  # dark pixels in the eye boxes
    skin_lightness: float
    skin_chroma: float


@lru_cache(maxsize=1)
def _cnn_detector():
    return dlib.cnn_face_detection_model_v1(str(model_path("mmod_human_face_detector.dat")))


@lru_cache(maxsize=1)
def _predictor_5():
    return dlib.shape_predictor(str(model_path("shape_predictor_5_face_landmarks.dat")))


@lru_cache(maxsize=1)
def _descriptor_model():
    return dlib.face_recognition_model_v1(str(model_path("dlib_face_recognition_resnet_model_v1.dat")))


def reference(image: np.ndarray) -> Reference:
    """Measure a portrait (H, W, 3) uint8 RGB at the size frames will be rendered.

    Raises face_mesh.FaceMeshUnavailable when the face mesh model cannot be had.
    """
    image = np.ascontiguousarray(image)
    box = face_box(image)
    found = face_mesh.track(image, face_mesh.region_from_box(box.left(), box.top(), box.right() + 1, box.bottom() + 1))
    if found.presence < face_mesh.PRESENCE_THRESHOLD:
        raise ValueError(f"the face mesh sees no face in the portrait (presence {found.presence:.2f})")
    # Every frame is read in the portrait's own region: the engine's head
    # moves a few pixels, well inside the region's margin, and a fixed crop
    # keeps the region's own jitter out of the head-motion measure.
    region = face_mesh.region_from_points(found.points)
    points = face_mesh.mesh(image, region).points
    eye_distance = measure_eye_distance(points)
    centre = bridge_point(points)
    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    dx = (xs - centre[0]) / (_HEAD_SIDE * eye_distance)
    dy = (ys - centre[1]) / (np.where(ys < centre[1], _HEAD_UP, _HEAD_DOWN) * eye_distance)
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    skin_lab = np.concatenate([lab[cheek].reshape(-1, 3) for cheek in cheeks(points)])
    return Reference(
        image=image,
        box=box,
        region=region,
        points=points,
        eye_distance=eye_distance,
        descriptor=descriptor(image, box),
        background=dx * dx + dy * dy > 1.0,
        eye_dark=eye_darkness(image, points, eye_distance),
        skin_lightness=float(np.median(skin_lab[:, 0])),
        skin_chroma=float(np.median(np.hypot(skin_lab[:, 1] - 128, skin_lab[:, 2] - 128))),
    )


def face_box(image: np.ndarray, upsample: int = 1) -> dlib.rectangle:
    """The most confident face of the judge's CNN detector in an image (H, W, 3) uint8 RGB, enlarged upsample times
    for it (each time costs four times as much)."""
    detections = _cnn_detector()(np.ascontiguousarray(image), upsample)
    if not detections:
        raise ValueError("the judge's detector finds no face in the portrait")
    return max(detections, key=lambda d: d.confidence).rect


def descriptor(image: np.ndarray, box: dlib.rectangle) -> np.ndarray:
    """(128,) dlib face descriptor, aligned by dlib's own 5-point predictor as its recognition model expects."""
    return np.asarray(_descriptor_model().compute_face_descriptor(image, _predictor_5()(image, box)), np.float64)


def eye_centres(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (
        points[list(face_mesh.LEFT_EYE_CORNERS), :2].mean(axis=0),
        points[list(face_mesh.RIGHT_EYE_CORNERS), :2].mean(axis=0),
    )


def measure_eye_distance(points: np.ndarray) -> float:
    left, right = eye_centres(points)
    return float(np.linalg.norm(left - right))


def bridge_point(points: np.ndarray) -> np.ndarray:
    """(2,) the point between the eyes: the mean of the four eye corners."""
    return np.mean(eye_centres(points), axis=0)


def nose_base(points: np.ndarray) -> np.ndarray:
    return points[face_mesh.NOSE_BASE, :2]


def cheeks(points: np.ndarray) -> list[tuple[slice, slice]]:
    """Boxes of cheek skin on both sides of the nose base."""
    eye_distance = measure_eye_distance(points)
    nose = nose_base(points)
    rows = slice(int(nose[1] - _CHEEK_UP[0] * eye_distance), int(nose[1] - _CHEEK_UP[1] * eye_distance))
    boxes = []
    for side in (-1, 1):
        near, far = (nose[0] + side * share * eye_distance for share in _CHEEK_ACROSS)
        boxes.append((rows, slice(int(max(min(near, far), 0)), int(max(near, far)))))
    return boxes


def eye_darkness(image: np.ndarray, points: np.ndarray, eye_distance: float) -> float:
    """Dark pixels (iris, pupil) just above the line through each eye's corners, counted over both eyes.

    A closing lid covers exactly this band with skin; the lashes it brings
    down settle on the corner line, below the band, and glasses' rims lie
    above it.
    """
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    total = 0.0
    for indices in (face_mesh.LEFT_EYE_CORNERS, face_mesh.RIGHT_EYE_CORNERS):
        corners = points[list(indices), :2]
        left, right = corners[:, 0].min(), corners[:, 0].max()
        inset = _EYE_INSET * (right - left)
        middle = corners[:, 1].mean()
        band = gray[
            int(middle - _EYE_BAND_TOP * eye_distance) : int(middle - _EYE_BAND_BOTTOM * eye_distance) + 1,
            int(left + inset) : int(right - inset) + 1,
        ]
        if band.size:
            total += float(
                (
                    band
                    < _EYE_DARK
                    * np.percentile(
                        gray[
                            int(middle - 0.3 * eye_distance) : int(middle + 0.3 * eye_distance),
                            int(left) : int(right) + 1,
                        ],
                        95,
                    )
                ).sum()
            )
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Draw the face mesh over the offline portraits.")
    parser.add_argument("--overlay", type=Path, help="write the mesh over the offline portraits to this PNG")
    args = parser.parse_args(argv)
    try:
        path = face_mesh.model_file()
    except face_mesh.FaceMeshUnavailable as error:
        print(f"face mesh unavailable: {error}", file=sys.stderr)
        return 1
    print(f"{path} (sha256 {face_mesh.SHA256})")
    if args.overlay:
        tiles = []
        for name, image in portraits().items():
            ref = reference(image)
            tiles.append(
                cv2.resize(face_mesh.overlay(image, ref.points), (512, round(512 * image.shape[0] / image.shape[1])))
            )
            print(f"{name}: face presence {face_mesh.mesh(image, ref.region).presence:.3f}")
        height = max(tile.shape[0] for tile in tiles)
        sheet = np.hstack([np.pad(tile, ((0, height - tile.shape[0]), (0, 0), (0, 0))) for tile in tiles])
        args.overlay.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(args.overlay), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
        print(f"overlay: {args.overlay}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
