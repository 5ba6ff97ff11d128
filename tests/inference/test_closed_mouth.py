"""A closed mouth from any photo: lips that part in the photo (a smile with teeth, a word) meet in pauses.

The portraits are real photos of the benchmark set (benchmarks/data/faces, see its manifest.json).
"""

from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks import quality
from benchmarks.reference_faces import BENCHMARK_PORTRAITS, eye_centres
from inference import speech
from inference.animation import animate, animation_track, frame_count, render_frame
from inference.rig import portrait_rig
from inference.rig.geometry import FaceAxes
from inference.rig.mesh import inner_lip_xs
from inference.rig.mouth import inner_lips_refined
from inference.rig.parameters import FACE_PARAMETERS, PARAMETERS

FACES = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "faces"
RATE = 16000
FPS = 25
# The quality judge counts lips closed below this gap, in eye distances.
CLOSED = 0.05
# The judge's face mesh's inner lip points across the mouth's width (MediaPipe indices), upper and lower in pairs,
# left to right (the judge itself reads the middle three).
UPPER_INNER = (80, 81, 82, 13, 312, 311, 310)
LOWER_INNER = (88, 178, 87, 14, 317, 402, 318)


def photo(path: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(FACES / path)), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def smile_rig():
    """A broad smile showing both rows of teeth, rigged at 256 px to keep the test fast."""
    return portrait_rig(photo("alex_lacamoire/1.jpg"), max_side=256)


def teeth_pixels(image: np.ndarray, rig) -> int:
    """Pixels inside the outer lip contour that look like teeth: nearly colourless and lighter than the cheeks."""
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(rig.landmarks[48:60]).astype(np.int32)], 1)
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)[mask.astype(bool)]
    lm = rig.landmarks
    skin = cv2.cvtColor(
        np.ascontiguousarray(rig.image[int(lm[29, 1]) : int(lm[33, 1]), int(lm[31, 0]) : int(lm[35, 0])]),
        cv2.COLOR_RGB2LAB,
    ).reshape(-1, 3)
    skin_lightness = float(np.median(skin[:, 0]))
    skin_chroma = float(np.median(np.hypot(skin[:, 1].astype(float) - 128, skin[:, 2].astype(float) - 128)))
    chroma = np.hypot(lab[:, 1] - 128, lab[:, 2] - 128)
    return int(((chroma < 0.6 * skin_chroma) & (lab[:, 0] > 0.9 * skin_lightness)).sum())


def lip_gap(rig, face: np.ndarray) -> float:
    """The rig's own gap between the lips' middles in a pose of face parameters (len(FACE_PARAMETERS),), in eye
    distances, less the pixel the mesh keeps between closed lips (the renderer draws them touching)."""
    mouth = rig.mouth
    polygon = mouth.polygon_rest + np.tensordot(face, mouth.polygon_motion, axes=1)
    upper, lower = polygon[mouth.upper], polygon[mouth.lower]
    eyes = float(np.linalg.norm(rig.landmarks[42:48].mean(axis=0) - rig.landmarks[36:42].mean(axis=0)))
    return (float(np.linalg.norm(lower[len(upper) // 2] - upper[len(upper) // 2])) - 1.0) / eyes


def test_a_smile_with_teeth_rests_with_its_lips_at_most_slightly_parted(smile_rig):
    rest = np.zeros(len(smile_rig.fields), np.float32)
    assert smile_rig.lips_parted
    # The photo's own opening is far wider than a slight parting.
    assert smile_rig.mouth.photo_parting / smile_rig.mouth.width > 0.1
    assert 0.0 < lip_gap(smile_rig, rest) <= CLOSED


def test_pauses_of_a_smile_with_teeth_render_with_the_lips_closed_over_the_teeth(smile_rig):
    silence, sound = np.zeros(int(0.6 * RATE), np.float32), np.zeros(int(0.4 * RATE), np.float32)
    t = np.arange(len(sound)) / RATE
    sound[:] = 0.4 * np.sin(2 * np.pi * 180 * t)
    audio = np.concatenate([silence, sound, silence])
    frames = list(animate(smile_rig.image, audio, RATE, fps=FPS, phonemes=[(0.6, 1.0, "a")], rig=smile_rig))
    in_photo = teeth_pixels(smile_rig.image, smile_rig)
    assert in_photo > 100
    pause = [frames[5], frames[10], frames[-5]]
    assert all(teeth_pixels(frame, smile_rig) <= 0.02 * in_photo for frame in pause)
    # The vowel opens the mouth onto the photo's own teeth.
    assert teeth_pixels(frames[20], smile_rig) > 0.3 * in_photo


def test_closed_lips_hide_the_teeth_of_broad_smiles(smile_rig):
    closed = render_frame(smile_rig, {"lip_close": 1.0})
    assert teeth_pixels(closed, smile_rig) <= 0.02 * teeth_pixels(smile_rig.image, smile_rig)
    glasses_rig = portrait_rig(photo("deepface_09/1.jpg"), max_side=256)
    closed = render_frame(glasses_rig, {"lip_close": 1.0})
    assert teeth_pixels(closed, glasses_rig) <= 0.02 * teeth_pixels(glasses_rig.image, glasses_rig)


def judged_gaps(frame: np.ndarray, reference: quality.Reference) -> np.ndarray:
    """(7,) the judge's gaps between the inner lips across the mouth's width in a frame, in eye distances."""
    points = quality.frame_landmarks(frame, reference)
    left, right = eye_centres(points)
    eyes = float(np.linalg.norm(right - left))
    down = np.array([left[1] - right[1], right[0] - left[0]]) / eyes
    return (points[list(LOWER_INNER), :2] - points[list(UPPER_INNER), :2]) @ down / eyes


@pytest.fixture(scope="module")
def mid_speech(mesh_model):
    """The rig of a photo taken mid-speech and the quality judge's reference for it (its face detected once)."""
    # Both rows of teeth and the dark inside show in the photo; the predictor's inner lip contour runs across the
    # teeth at the sides. Judged with the quality judge's own landmarks, which the rig never uses.
    rig = portrait_rig(photo("obama/2.jpg"), max_side=256)
    return rig, quality.reference(rig.image)


def test_a_photo_taken_mid_speech_closes_its_lips_along_the_whole_mouth(mid_speech):
    rig, reference = mid_speech
    assert judged_gaps(rig.image, reference).min() > 5 * CLOSED
    assert np.all(judged_gaps(render_frame(rig, {"lip_close": 1.0}), reference) <= CLOSED)


def test_a_photo_taken_mid_speech_keeps_its_lips_closed_as_the_head_turns_in_a_pause(mid_speech):
    # The head's pose in a pause of the benchmark's clip (espeak, seed 0). Lips whose edges carry the blend between
    # lip and teeth meet with a light fringe, which the judge reads as a gap once the head turns (0.05-0.07 here).
    rig, reference = mid_speech
    pause = {"lip_close": 1.0, "head_roll": 1.4, "head_nod": 0.2, "head_yaw": 1.0}
    assert np.all(judged_gaps(render_frame(rig, pause), reference) <= CLOSED)


def synthetic_mouth(teeth: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A mouth drawn in rows: upper lip 40-48, a dark opening 48-54, teeth 54-60, lower lip 60-70, with the
    predictor's inner lower lip points on the teeth's upper edge (y 55) as it places them in a photo taken mid-word."""
    image = np.full((100, 100, 3), (200, 150, 120), np.uint8)
    image[40:48, 20:80] = (150, 70, 70)
    image[48:54, 20:80] = (30, 15, 15)
    image[54:60, 20:80] = teeth
    image[60:70, 20:80] = (160, 75, 75)
    landmarks = np.zeros((68, 2), np.float32)
    landmarks[36:42] = [(25 + i, 20) for i in range(6)]
    landmarks[42:48] = [(70 + i, 20) for i in range(6)]
    landmarks[48], landmarks[54] = (22, 54), (78, 54)
    landmarks[49:54] = [(x, 40) for x in (30, 40, 50, 60, 70)]
    landmarks[55:60] = [(x, 69) for x in (70, 60, 50, 40, 30)]
    landmarks[60], landmarks[64] = (26, 54), (74, 54)
    landmarks[61:64] = [(x, 48) for x in (40, 50, 60)]
    landmarks[65:68] = [(x, 55) for x in (60, 50, 40)]
    return image, landmarks


@pytest.mark.parametrize("teeth", [(225, 222, 215), (150, 140, 135)], ids=["lit", "shaded"])
def test_inner_lips_are_found_past_teeth_that_show_between_a_dark_opening_and_the_lip(teeth):
    image, landmarks = synthetic_mouth(teeth)
    refined, _ = inner_lips_refined(image, landmarks, FaceAxes(landmarks))
    # A quarter of a pixel inside each lip (the boundaries between the rows are at halves): the blend between lip and
    # teeth stays off the lip.
    assert np.allclose(refined[65:68, 1], 59.75, atol=0.15)
    assert np.allclose(refined[61:64, 1], 47.25, atol=0.15)


@pytest.fixture(scope="module")
def closed_rig():
    """A closed-mouth, neutral portrait (the benchmark's "closed"), rigged at 256 px."""
    return portrait_rig(photo("obama/4.jpg"), max_side=256)


def test_a_closed_mouth_portrait_closes_its_lips_on_bilabials_not_on_every_consonant(closed_rig):
    # The text path on the portrait benchmark's two sentences (14 bilabials, one pause between them): a tongue
    # consonant once raised the jaw so far (0.05-0.09) that the lips met on nearly every syllable, 3.5 times a
    # second; real speakers close 1.4-2.7 times.
    spoken = speech.synthesize(quality.PORTRAIT_TEXT, "en", voice=speech.espeak_voice("en"))
    n_frames = frame_count(len(spoken.audio), spoken.sample_rate, FPS)
    track = animation_track(spoken.audio, spoken.sample_rate, n_frames, FPS, phonemes=list(spoken.phonemes))
    faces = track[:, [PARAMETERS.index(name) for name in FACE_PARAMETERS]]
    shut = np.array([lip_gap(closed_rig, face) for face in faces]) <= CLOSED
    bilabials = [int((start + end) / 2 * FPS) for start, end, ipa in spoken.phonemes if ipa[0] in "pbm"]
    assert len(bilabials) == 14
    assert shut[bilabials].all()
    seconds = spoken.phonemes[-1][1] - spoken.phonemes[0][0]
    closures = int((shut[1:] & ~shut[:-1]).sum())
    assert 1.4 <= closures / seconds <= 3.0, closures / seconds


def smile_mouth() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A smile drawn in columns: upper lip 40-48, teeth from 48 down to a bottom edge (returned, (100,) per image
    column) that curves up towards the corners, lower lip below it to 68; the predictor's inner points on the
    teeth's edges at x 40, 50, 60 and at the corners, so its contour cuts across the teeth at the sides."""
    xs = np.arange(100, dtype=np.float64)
    bottom = 48 + 8 * np.clip(1 - ((xs - 50) / 30) ** 8, 0.0, 1.0)
    image = np.full((100, 100, 3), (200, 150, 120), np.uint8)
    image[40:48, 18:83] = (150, 70, 70)
    image[48:68, 18:83] = (160, 75, 75)
    for x in range(20, 81):
        image[48 : int(round(bottom[x])), x] = (225, 222, 215)
    landmarks = np.zeros((68, 2), np.float32)
    landmarks[36:42] = [(25 + i, 20) for i in range(6)]
    landmarks[42:48] = [(70 + i, 20) for i in range(6)]
    landmarks[48], landmarks[54] = (18, 48), (82, 48)
    landmarks[49:54] = [(x, 40) for x in (30, 40, 50, 60, 70)]
    landmarks[55:60] = [(x, 67) for x in (70, 60, 50, 40, 30)]
    landmarks[60], landmarks[64] = (20, 48), (80, 48)
    landmarks[61:64] = [(x, 48) for x in (40, 50, 60)]
    landmarks[65:68] = [(x, bottom[x]) for x in (60, 50, 40)]
    return image, landmarks, bottom


def test_the_lips_edges_are_found_along_the_whole_width_of_a_smile():
    image, landmarks, bottom = smile_mouth()
    axes = FaceAxes(landmarks)
    _, edges = inner_lips_refined(image, landmarks, axes)
    assert edges is not None
    columns = axes.to_image(np.stack([inner_lip_xs(axes.to_local(landmarks)), edges[1]], axis=1))
    # The lower lip's edge follows the teeth up towards the corners, where the predictor's contour crosses them, a
    # quarter of a pixel inside the lip (the teeth end at bottom - 0.5).
    lip_edge = np.interp(columns[:, 0], np.arange(100), bottom) - 0.25
    assert np.abs(columns[:, 1] - lip_edge).max() < 0.3


def _specks_around_the_lips(frame: np.ndarray, landmarks: np.ndarray) -> int:
    """Pixels on the lips' outline (a 9 px band) more than 40 grey levels off the median of their 3x3 neighbours."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    speck = np.abs(grey.astype(np.int16) - cv2.medianBlur(grey, 3)) > 40
    lips = np.zeros(grey.shape, np.uint8)
    cv2.fillPoly(lips, [cv2.convexHull(np.round(landmarks[48:60]).astype(np.int32))], 1)
    band = cv2.dilate(lips, np.ones((9, 9), np.uint8)) - cv2.erode(lips, np.ones((9, 9), np.uint8))
    return int((speck & (band > 0)).sum())


@pytest.mark.parametrize("name", ["smile_teeth", "mid_speech"])
def test_closing_and_opening_lips_leave_no_specks_at_the_corners(name):
    """Where the closed lips are squeezed into slivers at the corners, pixels drawn just outside a sliver fetched
    teeth from pixels away (0-9 specks per frame before), as did the dense fields' spikes there."""
    rig = portrait_rig(photo(BENCHMARK_PORTRAITS[name][0].removeprefix("faces/")))
    assert _specks_around_the_lips(rig.image, rig.landmarks) == 0
    for pose in ({}, {"jaw_open": 0.3}, {"lip_close": 1.0}):
        assert _specks_around_the_lips(render_frame(rig, pose), rig.landmarks) == 0, pose


def test_a_smile_opening_wide_leaves_no_specks_along_its_lips():
    """Pixels on a triangle's edge went to either neighbour, so along the lips' seam some moved with the other lip and
    fetched specks from across it (1, 2 and 1 on these poses before each pixel went to the triangle it lies in)."""
    rig = portrait_rig(photo(BENCHMARK_PORTRAITS["smile_teeth"][0].removeprefix("faces/")))
    for pose in (
        {"jaw_open": 1.0, "lip_spread": 0.17, "lip_round": 0.08},
        {"jaw_open": 0.5},
        {"jaw_open": 0.8, "smile": 0.6},
    ):
        assert _specks_around_the_lips(render_frame(rig, pose), rig.landmarks) == 0, pose
