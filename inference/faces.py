"""Face detection, 68-point landmarks and 128-d identity descriptors (dlib, weights from face-recognition-models)."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import dlib
import numpy as np

from . import descriptor_net
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
    score: float  # the detector's; for a tracked face, that of the detection it was tracked from
    landmarks: np.ndarray  # (68, 2) float32, dlib/iBUG 68-point order


# A tracked face whose landmarks moved further than this share of its box's width from one frame to the next, or
# whose size changed by more than this share, has lost the face (a head turns or nods by a few pixels a frame).
TRACK_MAX_JUMP = 0.25
# The detector's face and the tracked one are the same face when their boxes overlap this much (intersection over
# union); a head moving between two detections a few frames apart keeps well above it.
SAME_FACE_OVERLAP = 0.5
# Between detections, the tracked box must show much the same picture as in the frame before (normalized correlation
# of PATCH_SIDE px grey patches); else the frame is searched. See _looks_alike.
PATCH_SIDE = 24
PATCH_MIN_CORRELATION = 0.6
# The shape predictor's fit follows the box it is given, and a box carried along a turning head drifts with the fit
# (a turn moves the nose and eyes against the face's outline, so the landmarks' centre and with it the box move): on
# test clips a tracked turn read 0.14 of yaw where the detector's box read 0.41, and as a nod. So a frame is searched
# when the face's shape (its outline, brows, nose and eyes, centred) moved from the last search's by more than this
# share of the face's width: a turn or nod under way, not speech (mouth and chin are left out) nor a move across the
# picture. Measured against a search of every frame on genuine stand-ins (docs/consent.md, "Tracking in turns").
TRACK_MAX_RESHAPE = 0.03
# While a face is tracked, the detector looks only for faces at least this share of its width (faces_detect_sized):
# a face does not shrink by a quarter between two searches half a second apart, and a search that does not find the
# tracked face is made again over the whole pyramid.
SIZED_SEARCH_SHARE = 0.75
# The landmarks that speech does not move: the upper outline (0-4, 12-16), brows, nose and eyes (17-47).
_STEADY_POINTS = np.r_[0:5, 12:48]


@dataclass(frozen=True)
class FaceTrack:
    """The frames read, the face in each (None where there is none) and how many of them the detector searched.

    searched: the frames whose face is the detector's best one (or None: it found none) rather than tracked.
    sized_searches: the searches made while a face was tracked that looked only for faces near its size
    (faces_detect_sized) and found it.
    """

    frames: tuple[np.ndarray, ...]
    faces: tuple[Face | None, ...]
    detections: int
    searched: frozenset[int] = frozenset()
    sized_searches: int = 0


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
    """dlib's face-descriptor network read from its file and run by onnxruntime (descriptor_net): dlib's descriptors
    at about a twelfth of the processor time of dlib's own run, which is built without BLAS. Built once per process
    (about 0.2 s, beside the imports of onnx and onnxruntime).
    """
    return descriptor_net.session_create(descriptor_net.net_read(_models_dir() / descriptor_net.MODEL_FILENAME))


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
        found = [
            (
                dlib.rectangle(
                    round(rect.left() / scale),
                    round(rect.top() / scale),
                    round(rect.right() / scale),
                    round(rect.bottom() / scale),
                ),
                float(score),
            )
            for rect, score in zip(rects, scores, strict=False)
        ]
        return _faces_fitted(rgb, found)


def faces_detect_sized(image: np.ndarray, *, min_width: float) -> list[Face] | None:
    """The faces at least about `min_width` px wide in an RGB uint8 image (H, W, 3) of at most 800 px, best first,
    exactly as faces_detect(upsample=0) finds them (same boxes, same scores, same landmarks): the detector's pyramid
    levels that find only narrower faces are not scanned. None where the boxes cannot be mapped back exactly (then
    search the whole image).

    dlib's detector scans the image and a pyramid of copies, each 5/6 the size of the one before (dlib's
    pyramid_down(6), bilinear), with one window that marks a face _LEVEL_BOX px wide in a level's pixels, so level l
    finds faces about _LEVEL_BOX * 1.2**l px wide. Level k is made here as the detector makes it (dlib.resize_image
    from level k - 1, its size rounded down as dlib does) and scanned with its levels below; each box found on it is
    taken back to the level it was found on (its size says which) and mapped up to the image by dlib's own rect_up, as
    a scan of the whole pyramid maps it. On a 320 px frame with a 150 px face this skips three levels of eight, two
    thirds of the pixels scanned.
    """
    rgb = _as_dlib_image(image)
    if max(rgb.shape[:2]) > 800:  # faces_detect scans a scaled copy of it
        return None
    skipped = 0
    while _LEVEL_BOX * _PYRAMID_STEP**skipped < min_width:
        skipped += 1
    level = rgb
    for _ in range(skipped):
        # dlib's pyramid_down(6) rounds the level's size down: lround of an integer division.
        rows, cols = (5 * level.shape[0]) // 6, (5 * level.shape[1]) // 6
        if min(rows, cols) < _LEVEL_BOX:
            return None
        level = dlib.resize_image(level, rows, cols)
    with _dlib_lock:
        rects, scores, _ = _detector().run(level, 0, DETECTION_SCORE_FLOOR)
        found = [(_level_rect_up(rect, skipped), float(score)) for rect, score in zip(rects, scores, strict=False)]
        if any(rect is None for rect, _score in found):
            return None
        return _faces_fitted(rgb, found)


# dlib's face detector: its pyramid (each level 5/6 of the one before) and the box its window marks on a level (px).
_PYRAMID = dlib.pyramid_down(6)
_PYRAMID_STEP = 6 / 5
_LEVEL_BOX = 73


def _level_rect_up(rect: Any, skipped: int) -> Any | None:
    """A box the detector found on pyramid level `skipped` (scanned with its own levels below it), in the full
    image's pixels as a scan of the whole pyramid reports it; None when it is not a window box of any level.

    The box is rect_up(box on its level, levels) rounded once, so it is taken down to the level whose window it is
    (the one where it is _LEVEL_BOX px square and maps back to itself) and up again by all the levels together.
    """
    for found_on in range(32):
        down = _PYRAMID.rect_down(dlib.drectangle(rect.left(), rect.top(), rect.right(), rect.bottom()), found_on)
        box = dlib.rectangle(round(down.left()), round(down.top()), round(down.right()), round(down.bottom()))
        if box.width() < _LEVEL_BOX:
            return None
        if box.width() == box.height() == _LEVEL_BOX and _PYRAMID.rect_up(box, found_on) == rect:
            return _PYRAMID.rect_up(box, found_on + skipped)
    return None


def _faces_fitted(rgb: np.ndarray, found: list[tuple[Any, float]]) -> list[Face]:
    """The detector's boxes (dlib rectangles in `rgb`'s pixels) with their scores, as Faces best first with their 68
    landmarks; called holding _dlib_lock.
    """
    faces = []
    for full, score in sorted(found, key=lambda box_score: -box_score[1]):
        shape = _predictor_68()(rgb, full)
        points = _landmark_points(shape)
        box = (max(full.left(), 0), max(full.top(), 0), full.width(), full.height())
        faces.append(Face(box=box, score=score, landmarks=points))
    return faces


def face_fit(image: np.ndarray, box: tuple[int, int, int, int], *, score: float) -> Face:
    """The 68 landmarks of the face in `box` (x, y, width, height) of an RGB uint8 image (H, W, 3), without searching
    for it: the shape predictor alone, a fifth of the detector's cost on a 320 px frame.
    """
    rgb = _as_dlib_image(image)
    x, y, w, h = box
    with _dlib_lock:
        # dlib's rectangles include their right and bottom edges (faces_detect's width is right - left + 1).
        shape = _predictor_68()(rgb, dlib.rectangle(x, y, x + w - 1, y + h - 1))
    points = _landmark_points(shape)
    return Face(box=box, score=score, landmarks=points)


def _landmark_points(shape: Any) -> np.ndarray:
    """(68, 2) float32 from the shape predictor's result."""
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


def box_overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union (0..1) of two (x, y, width, height) boxes."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return float(inter / (a[2] * a[3] + b[2] * b[3] - inter))


def landmarks_box(landmarks: np.ndarray) -> tuple[float, float, float, float]:
    """The (x, y, width, height) box around landmarks (n, 2)."""
    left, top = landmarks.min(axis=0)
    right, bottom = landmarks.max(axis=0)
    return float(left), float(top), float(right - left), float(bottom - top)


@dataclass(frozen=True)
class SearchLimits:
    """What faces_track may spend on the detector, for video whose content nobody controls.

    lost_every: once lost_every frames in a row were searched without a face, only every lost_every-th frame is
    searched until one is found (a face that comes back is found within that many frames, and the frames skipped
    since the last search are then searched back, so every frame with a face still gets it; a face the detector finds
    only now and then is still looked for on every frame); a video that shows none costs about that share of its
    searches.
    first_searches, max_share: the detector searches at most first_searches frames plus this share of the frames read
    (a head turn is a burst of searches); beyond that the face changed between frames more than a person's does, and
    InferenceError("too_costly") stops the reading.
    """

    lost_every: int
    first_searches: int
    max_share: float


def faces_track(
    frames: Iterable[np.ndarray],
    *,
    detect: Callable[[np.ndarray], list[Face]],
    detect_every: int,
    max_missing: int,
    limits: SearchLimits | None = None,
) -> FaceTrack:
    """The face in each RGB uint8 frame (H, W, 3) of a video: searched by `detect` (best face first) on every
    `detect_every`-th frame, and in between fitted by the shape predictor alone in the last detection's box, moved
    with the previous frame's landmarks.

    Tracking follows only the face it started from, so it is checked: at each detection, the detector's best face must
    be the tracked one (boxes overlapping by SAME_FACE_OVERLAP); where it is another face or none, every frame since
    the previous detection is searched by the detector again. A frame is searched at once when the tracked box's
    picture changed from the frame before (PATCH_MIN_CORRELATION), its fit jumped (TRACK_MAX_JUMP) or the face's shape
    changed from the last search's (TRACK_MAX_RESHAPE: a head turning), and after a frame without a face every frame is
    searched until one is found (with `limits`, after lost_every such frames in a row only every lost_every-th, and the
    frames between once one is). A face swapped in, moved,
    joined by a better one or gone between two detections is so found as a search of every frame finds it. Once more
    than `max_missing` frames showed no face, no further frame is read (from a decoder, none is decoded); past
    the searches `limits` allows, InferenceError("too_costly").

    While a face is tracked, a search first looks only for faces at least SIZED_SEARCH_SHARE of its width
    (faces_detect_sized: the boxes, scores and landmarks faces_detect(upsample=0) gives them, at a third of the cost);
    where that does not find the tracked face as the best one, `detect` searches the frame. So a face much smaller than
    the tracked one that scores better is not looked for while the tracked face is found.
    """
    read: list[np.ndarray] = []
    found: list[Face | None] = []
    detections = sized_searches = 0
    anchor: Face | None = None  # the last face the detector found, whose box is carried along
    searched = -1  # the last frame the detector searched
    misses = 0  # frames searched in a row without a face
    searched_all: set[int] = set()

    def too_many_missing() -> bool:
        return sum(face is None for face in found) > max_missing

    def detected(index: int, tracked: tuple[int, int, int, int] | None = None) -> Face | None:
        """The detector's best face in frame `index`; with the `tracked` box, looked for near its size first."""
        nonlocal detections, sized_searches
        detections += 1
        if limits is not None and detections > limits.first_searches + limits.max_share * len(read):
            raise InferenceError(
                "too_costly",
                "the face changed from frame to frame more than a person's does and could not be followed; film "
                "yourself steadily, turning only when asked",
            )
        searched_all.add(index)
        if tracked is not None:
            sized = faces_detect_sized(read[index], min_width=SIZED_SEARCH_SHARE * tracked[2])
            if sized and box_overlap(sized[0].box, tracked) >= SAME_FACE_OVERLAP:
                sized_searches += 1
                return sized[0]
        best = detect(read[index])
        return best[0] if best else None

    def search_back(index: int) -> None:
        """The frames between the last search and frame `index`, each searched by the detector."""
        for between in range(searched + 1, index):
            found[between] = detected(between)

    def found_again(index: int) -> Face | None:
        """The detector's best face in frame `index` while the face is lost; where it is there, the frames skipped since
        the last search are searched too."""
        face = detected(index)
        if face is not None:
            search_back(index)
        return face

    for index, frame in enumerate(frames):
        read.append(frame)
        found.append(None)
        previous = found[index - 1] if index > 0 else None
        if anchor is not None and previous is not None:
            carried = _carried_box(anchor, previous)
            if index - searched < detect_every and _looks_alike(read[index - 1], frame, carried):
                fitted = face_fit(frame, carried, score=anchor.score)
                if not _jumped(previous, fitted, anchor) and not _reshaped(fitted, anchor):
                    found[index] = fitted
                    continue
            face = detected(index, carried)
            if face is None or box_overlap(face.box, carried) < SAME_FACE_OVERLAP:
                search_back(index)
        else:
            if limits is not None and misses >= limits.lost_every and index - searched < limits.lost_every:
                if too_many_missing():
                    break
                continue  # lost: searched back by found_again once a later search finds the face
            face = found_again(index)
        found[index], searched = face, index
        anchor = face
        misses = 0 if face is not None else misses + 1
        if too_many_missing():
            break
    else:
        if anchor is None and 0 <= searched < len(read) - 1:  # it ended on frames skipped while the face was lost
            found[-1] = found_again(len(read) - 1)
    return FaceTrack(
        frames=tuple(read),
        faces=tuple(found),
        detections=detections,
        searched=frozenset(searched_all),
        sized_searches=sized_searches,
    )


def _spread(landmarks: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre (2,) and RMS distance from it of landmarks (68, 2)."""
    centre = landmarks.mean(axis=0)
    return centre, float(np.sqrt(((landmarks - centre) ** 2).sum(axis=1).mean()))


def _carried_box(anchor: Face, previous: Face) -> tuple[int, int, int, int]:
    """The detector's box of `anchor`, moved as the landmarks' centre moved from `anchor` to `previous`.

    Moved, not scaled: a face's size hardly changes between two detections, and a box scaled with the landmarks'
    spread grows with a fit that spreads, which then spreads further.
    """
    shift = previous.landmarks.mean(axis=0) - anchor.landmarks.mean(axis=0)
    x, y, w, h = anchor.box
    return round(x + float(shift[0])), round(y + float(shift[1])), w, h


def _face_patch(frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """The box's pixels as a small grey patch (PATCH_SIDE, PATCH_SIDE) with zero mean and unit norm; None when flat."""
    x, y, w, h = box
    crop = frame[max(y, 0) : max(y + h, 0), max(x, 0) : max(x + w, 0)]
    if crop.size == 0:
        return None
    grey = _resize(np.ascontiguousarray(crop), (PATCH_SIDE, PATCH_SIDE)).astype(np.float32).mean(axis=2)
    grey -= grey.mean()
    norm = float(np.linalg.norm(grey))
    return grey / norm if norm > 1e-3 * grey.size else None


def _looks_alike(before: np.ndarray, frame: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """Whether the box shows much the same picture in two consecutive frames (normalized correlation of the patches):
    a face leaving it, or another picture cut in, changes it more than a face moves in a frame.
    """
    patch_before, patch = _face_patch(before, box), _face_patch(frame, box)
    if patch_before is None or patch is None:
        return False
    return float((patch_before * patch).sum()) >= PATCH_MIN_CORRELATION


def _jumped(previous: Face, fitted: Face, anchor: Face) -> bool:
    before_centre, before_spread = _spread(previous.landmarks)
    centre, spread = _spread(fitted.landmarks)
    moved = float(np.linalg.norm(centre - before_centre)) / max(anchor.box[2], 1)
    return moved > TRACK_MAX_JUMP or abs(spread / max(before_spread, 1e-6) - 1) > TRACK_MAX_JUMP


def _reshaped(fitted: Face, anchor: Face) -> bool:
    """Whether the fitted face's shape moved from the last search's by more than TRACK_MAX_RESHAPE of its width."""
    before, now = anchor.landmarks[_STEADY_POINTS], fitted.landmarks[_STEADY_POINTS]
    moved = (now - now.mean(axis=0)) - (before - before.mean(axis=0))
    return float(np.abs(moved).max()) > TRACK_MAX_RESHAPE * max(anchor.box[2], 1)


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
    return face_descriptors([(image, face)])[0]


def face_chips(faces: Sequence[tuple[np.ndarray, Face]]) -> list[np.ndarray]:
    """The descriptor network's crop of each detected face in its RGB uint8 image (H, W, 3): (150, 150, 3) RGB uint8,
    aligned on the face's 68 landmarks with padding 0.25, as dlib's compute_face_descriptor takes it from the image.
    """
    chips = []
    with _dlib_lock:
        for image, face in faces:
            rgb = _as_dlib_image(image)
            x, y, w, h = face.box
            shape = _predictor_68()(rgb, dlib.rectangle(x, y, x + w, y + h))
            chips.append(dlib.get_face_chip(rgb, shape, descriptor_net.CHIP_SIZE, 0.25))
    return chips


def face_descriptors(faces: Sequence[tuple[np.ndarray, Face]]) -> list[np.ndarray]:
    """The 128-d identity descriptors (float64) of detected faces, each in its RGB uint8 image (H, W, 3): the same as
    face_descriptor on each, in one run of the network.
    """
    if not faces:
        return []
    return list(descriptor_net.descriptors(face_chips(faces), _descriptor_model()))


def descriptor_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
