"""The animation engine moves the real photo: mouth with the speech, blinks, nothing else."""

import time

import cv2
import matplotlib.cbook
import numpy as np
import pytest
from skimage import data

from inference.animate import animate, frame_count, render_frame
from inference.errors import InferenceError
from inference.faces import faces_detect
from inference.motion import blink_track, mouth_open_track
from inference.rig import portrait_rig

RATE = 16000
FPS = 25


@pytest.fixture(scope="module")
def astronaut():
    return data.astronaut()


@pytest.fixture(scope="module")
def rig(astronaut):
    return portrait_rig(astronaut)


def speech(silence_s: float, voiced_s: float) -> np.ndarray:
    """Silence, then a 200 Hz tone whose loudness swings like syllables (4 per second)."""
    t = np.arange(int(voiced_s * RATE)) / RATE
    tone = 0.5 * np.sin(2 * np.pi * 200 * t) * (0.55 + 0.45 * np.sin(2 * np.pi * 4 * t))
    return np.concatenate([np.zeros(int(silence_s * RATE)), tone]).astype(np.float32)


def mouth_box(landmarks: np.ndarray, margin: int = 6) -> tuple[slice, slice]:
    low = np.floor(landmarks[48:68].min(axis=0)).astype(int) - margin
    high = np.ceil(landmarks[48:68].max(axis=0)).astype(int) + margin
    return slice(low[1], high[1] + 20), slice(low[0], high[0])  # room below for the dropping lip


def eye_opening(landmarks: np.ndarray, eye: slice) -> np.ndarray:
    """(512, 512) bool mask inside the eye's six landmarks."""
    mask = np.zeros((512, 512), np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[eye]).astype(np.int32)], 1)
    return mask.astype(bool)


def test_zero_parameters_reproduce_the_resized_portrait(rig, astronaut):
    large = cv2.resize(astronaut, (1024, 1024), interpolation=cv2.INTER_CUBIC)
    scaled = portrait_rig(large)
    expected = cv2.resize(large, (512, 512), interpolation=cv2.INTER_AREA)
    assert np.array_equal(render_frame(scaled, {}), expected)
    zero = {"jaw_open": 0.0, "blink_left": 0.0, "blink_right": 0.0}
    assert np.array_equal(render_frame(rig, zero), astronaut)


def test_silent_audio_before_the_first_blink_renders_the_portrait_unchanged(rig, astronaut):
    # The first blink starts closing 0.42 s in at the earliest.
    frames = list(animate(astronaut, np.zeros(int(0.36 * RATE), np.float32), RATE, rig=rig))
    assert len(frames) == 9
    for frame in frames:
        assert np.abs(frame.astype(int) - rig.image).max() <= 1


def test_pixels_away_from_the_face_never_change(rig, astronaut):
    changed = np.zeros(rig.image.shape[:2], bool)
    for frame in animate(astronaut, speech(0.5, 3.5), RATE, rig=rig, seed=3):
        changed |= np.any(frame != rig.image, axis=2)
    assert changed.any()
    landmarks = rig.landmarks
    left, right = landmarks[:17, 0].min(), landmarks[:17, 0].max()
    top, chin = landmarks[17:27, 1].min(), landmarks[8, 1]
    width, height = right - left, chin - top
    face_and_neck = np.zeros_like(changed)
    face_and_neck[int(top - height / 2) : int(chin + height), int(left - width / 2) : int(right + width / 2)] = True
    assert not (changed & ~face_and_neck).any()
    # Hair, background, flag, shuttle and suit.
    assert not changed[:70].any() and not changed[300:].any()
    assert not changed[:, :140].any() and not changed[:, 320:].any()
    # The rig knows where it can move anything: the jaw's region and the eyelids.
    movable = np.zeros_like(changed)
    for x, y, w, h in [rig.roi, *(eyelid.box for eyelid in rig.eyelids.values())]:
        movable[y : y + h, x : x + w] = True
    assert not (changed & ~movable).any()


def test_loud_speech_opens_the_mouth_and_drops_the_lower_lip(rig, astronaut):
    audio = speech(1.0, 1.0)
    frames = list(animate(astronaut, audio, RATE, rig=rig))
    opening = mouth_open_track(audio, RATE, len(frames), FPS)
    assert opening[:FPS - 1].max() == 0.0
    loudest = int(np.argmax(opening))
    assert opening[loudest] > 0.9
    rows, columns = mouth_box(rig.landmarks)
    silent, loud = frames[10][rows, columns].astype(int), frames[loudest][rows, columns].astype(int)
    assert np.array_equal(silent, rig.image[rows, columns])
    assert np.abs(loud - silent).mean() > 15
    (face,) = faces_detect(frames[loudest])
    rest_gap = rig.landmarks[66, 1] - rig.landmarks[62, 1]
    assert face.landmarks[66, 1] - face.landmarks[62, 1] > rest_gap + 8
    assert face.landmarks[8, 1] > rig.landmarks[8, 1] + 5  # the chin follows the jaw


def test_the_jaw_warp_never_folds_the_face_outside_the_mouth_opening(rig):
    field = rig.fields["jaw_open"].astype(np.float64)
    dx_dy, dx_dx = np.gradient(field[..., 0])
    dy_dy, dy_dx = np.gradient(field[..., 1])
    jacobian = (1 - dx_dx) * (1 - dy_dy) - dx_dy * dy_dx  # of the backward map at jaw_open = 1
    opened = rig.cavity_rest + rig.cavity_motion["jaw_open"]
    gap = np.zeros(jacobian.shape, np.uint8)
    cv2.fillPoly(gap, [np.round(np.vstack([rig.cavity_rest, opened[::-1]])).astype(np.int32)], 1)
    cv2.fillPoly(gap, [np.round(opened).astype(np.int32)], 1)
    gap = cv2.dilate(gap, np.ones((3, 3), np.uint8)).astype(bool)
    assert jacobian[gap].min() < 0  # the lips part there: the cavity is painted over it
    assert jacobian[~gap].min() > 0.3


def test_an_open_mouth_shows_a_dark_cavity_not_smeared_lip(rig):
    frame = render_frame(rig, {"jaw_open": 0.8})
    still, moving = rig.cavity_gap
    opened = rig.cavity_rest + 0.8 * rig.cavity_motion["jaw_open"]
    middle = np.round((opened[still] + opened[moving]) / 2).astype(int)
    inside = frame[middle[1] - 1 : middle[1] + 2, middle[0] - 1 : middle[0] + 2].reshape(-1, 3).mean(axis=0)
    assert np.all(inside < 0.6 * rig.lip_colour)


def test_a_blink_closes_both_eyes_and_moves_nothing_else(rig):
    closed = render_frame(rig, {"blink_left": 1.0, "blink_right": 1.0})
    changed = np.any(closed != rig.image, axis=2)
    near_eyes = np.zeros_like(changed)
    for eye in (slice(36, 42), slice(42, 48)):
        opening = eye_opening(rig.landmarks, eye)
        before, after = rig.image.mean(axis=2)[opening], closed.mean(axis=2)[opening]
        # The lighter lid covers the dark iris and pupil.
        assert after.mean() > before.mean() + 8
        assert after.min() > before.min() + 25
        low = np.floor(rig.landmarks[eye].min(axis=0)).astype(int) - 3
        high = np.ceil(rig.landmarks[eye].max(axis=0)).astype(int) + 3
        near_eyes[low[1] : high[1], low[0] : high[0]] = True
    assert changed.any()
    assert not (changed & ~near_eyes).any()


def test_blinks_come_every_two_to_six_seconds_and_repeat_for_a_seed():
    track = blink_track(60 * FPS, FPS, seed=7)
    closed = np.flatnonzero(track == 1.0)
    gaps = np.diff(closed) / FPS
    assert len(closed) >= 10
    assert gaps.min() >= 2.0 and gaps.max() <= 6.0
    # Each blink closes and reopens within a few frames.
    blinking = np.flatnonzero(track > 0)
    runs = np.split(blinking, np.flatnonzero(np.diff(blinking) > 1) + 1)
    assert all(3 <= len(run) <= 6 for run in runs)
    assert track.min() == 0.0 and track.max() == 1.0
    assert np.array_equal(track, blink_track(60 * FPS, FPS, seed=7))
    assert not np.array_equal(track, blink_track(60 * FPS, FPS, seed=8))


def test_silence_keeps_the_mouth_closed():
    assert not mouth_open_track(np.zeros(RATE, np.float32), RATE, FPS, FPS).any()
    hiss = np.random.default_rng(0).normal(0, 1e-4, RATE).astype(np.float32)  # -80 dBFS
    assert not mouth_open_track(hiss, RATE, FPS, FPS).any()


def test_a_bilabial_closes_the_mouth_at_its_centre(rig, astronaut):
    # "a m a" with a brisk 60 ms /m/ centred in frame 11 (0.44-0.48 s).
    phonemes = [(0.0, 0.43, "a"), (0.43, 0.49, "m"), (0.49, 1.0, "ɑː")]
    audio = speech(0.0, 1.0)
    opening = mouth_open_track(audio, RATE, FPS, FPS, phonemes=phonemes)
    assert opening[11] == 0.0
    assert opening[3:8].min() > 0.5 and opening[15:22].min() > 0.5
    frames = list(animate(astronaut, audio, RATE, rig=rig, phonemes=phonemes))
    rows, columns = mouth_box(rig.landmarks)
    assert np.array_equal(frames[11][rows, columns], rig.image[rows, columns])
    assert not np.array_equal(frames[5][rows, columns], rig.image[rows, columns])


def test_frame_count_covers_odd_audio_lengths(rig, astronaut):
    assert frame_count(16333, 16000, 25) == 26
    assert frame_count(12345, 22050, 25) == 14
    assert frame_count(1, 16000, 25) == 1
    for samples, rate in ((16333, 16000), (12345, 22050)):
        audio = np.full(samples, 0.01, np.float32)
        assert sum(1 for _ in animate(astronaut, audio, rate, rig=rig)) == frame_count(samples, rate, FPS)


def test_a_non_square_portrait_keeps_its_aspect_with_even_sides():
    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    portrait = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    assert portrait.shape[:2] == (600, 512)
    frame = next(animate(portrait, speech(0.0, 0.2), RATE))
    height, width = frame.shape[:2]
    assert (height, width) == (512, 436)
    assert height % 2 == 0 and width % 2 == 0
    assert abs(width / height - 512 / 600) < 0.01
    assert frame.dtype == np.uint8 and frame.shape[2] == 3


def test_a_photo_without_a_face_is_refused():
    with pytest.raises(InferenceError) as refused:
        animate(data.coffee(), speech(0.0, 0.2), RATE)
    assert refused.value.code == "no_face"


@pytest.mark.parametrize(
    "audio",
    [
        np.zeros((RATE, 2), np.float32),
        np.zeros(RATE, np.int16),
        np.zeros(0, np.float32),
        np.full(RATE, np.nan, np.float32),
    ],
    ids=["stereo", "integer", "empty", "nan"],
)
def test_unusable_audio_is_refused_before_any_frame(rig, astronaut, audio):
    with pytest.raises(InferenceError) as refused:
        animate(astronaut, audio, RATE, rig=rig)
    assert refused.value.code == "invalid_audio"


def test_frames_are_rendered_lazily(rig, astronaut):
    frames = animate(astronaut, speech(0.0, 60.0), RATE, rig=rig)  # 1500 frames, asked for one by one
    assert iter(frames) is frames
    assert next(frames).shape == rig.image.shape


def test_fifty_frames_render_in_well_under_two_seconds(rig, astronaut):
    audio = speech(0.0, 2.0)
    start = time.perf_counter()
    frames = sum(1 for _ in animate(astronaut, audio, RATE, rig=rig, seed=1))
    elapsed = time.perf_counter() - start
    assert frames == 50
    assert elapsed < 0.5
