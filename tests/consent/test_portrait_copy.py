"""Not made from the portrait: captures built from the portrait's own pixels are refused, whatever they were warped,
animated or degraded by; the same captures built from another photo of the same person pass."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from consent.portrait_copy import COPY_REVIEW_MARGIN, COPY_THRESHOLD, FACE_COPY_OFFSET, portrait_copy_check
from inference import faces
from tests import attacks

# A representative subset of tests/attacks.py TRANSFORMS, one per kind, each at the strongest the check is calibrated
# on (the benchmark runs them all).
TRANSFORMS = ["as made", "H.264 crf 35", "VP8 300 kbit/s", "scale 0.5", "blur 1.5 px", "noise 4/255", "relight"]


@pytest.fixture(scope="module")
def portrait(same_person_photos):
    photo = same_person_photos[0]
    return photo, faces.face_single(photo).landmarks


@pytest.fixture(scope="module")
def made(same_person_photos):
    """(photo index, maker) -> frames, built once: index 0 is the portrait, index 1 another photo of its person."""
    cache = {}

    def make(index: int, maker: str):
        if (index, maker) not in cache:
            cache[(index, maker)] = attacks.MAKERS[maker](same_person_photos[index])
        return cache[(index, maker)]

    return make


def _checked(portrait, frames):
    photo, landmarks = portrait
    chosen, chosen_landmarks = attacks.analysis_frames(frames)
    assert len(chosen) >= 3, "the capture's face should be found in most frames"
    return portrait_copy_check(photo, landmarks, chosen, chosen_landmarks)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("maker", list(attacks.MAKERS))
def test_it_refuses_a_capture_made_from_the_portrait(portrait, made, maker, transform):
    result = _checked(portrait, attacks.TRANSFORMS[transform](made(0, maker)))
    assert result.copied, result.detail


@pytest.mark.parametrize("transform", ["as made", "H.264 crf 35", "relight"])
@pytest.mark.parametrize("maker", list(attacks.MAKERS))
def test_it_accepts_the_same_capture_made_from_another_photo_of_the_person(portrait, made, maker, transform):
    result = _checked(portrait, attacks.TRANSFORMS[transform](made(1, maker)))
    assert not result.copied, result.detail


def test_the_portraits_face_swapped_onto_another_video_of_the_person_is_refused_by_its_face(portrait, made):
    """A face swap keeps the host video's head, hair and room, so the surround is not the portrait's; the face inside
    the outline still is, and that refuses it. Re-encoded at crf 35 it is no longer refused outright, but an approval
    waits for staff (the review band below the threshold)."""
    swapped = attacks.face_swapped(made(0, "2-D warp"), made(1, "2-D warp"))
    result = _checked(portrait, swapped)
    assert result.surround < COPY_THRESHOLD, result.detail
    assert result.face - FACE_COPY_OFFSET >= COPY_THRESHOLD and result.copied, result.detail
    reencoded = _checked(portrait, attacks.TRANSFORMS["H.264 crf 35"](swapped))
    assert reencoded.score >= COPY_THRESHOLD - COPY_REVIEW_MARGIN, reencoded.detail


# Blurring a copy lowers its score smoothly (about 0.035 per 0.1 px here); these two blurs of the 2-D warp (Gaussian
# sigma in px of its 320 px frames, twice the 1.5 px the check is calibrated on) score just above and just below the
# threshold.
JUST_INSIDE_BLUR, JUST_OUTSIDE_BLUR = 3.2, 3.3


def test_a_copy_blurred_just_less_than_the_threshold_allows_is_refused_and_just_more_is_not(portrait, made):
    inside = _checked(portrait, attacks.blurred(made(0, "2-D warp"), sigma=JUST_INSIDE_BLUR))
    outside = _checked(portrait, attacks.blurred(made(0, "2-D warp"), sigma=JUST_OUTSIDE_BLUR))
    assert inside.copied, inside.detail
    assert not outside.copied, outside.detail
    assert COPY_THRESHOLD <= inside.score < COPY_THRESHOLD + 0.1
    assert COPY_THRESHOLD - 0.1 < outside.score < COPY_THRESHOLD


# The calibration set (benchmarks/portrait_copy.py), in the repository once the faces branch is merged.
CALIBRATION_FACES = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "faces"


@pytest.mark.skipif(
    not (CALIBRATION_FACES / "deepface_11").is_dir(), reason="the calibration set benchmarks/data/faces is not here"
)
def test_the_calibration_sets_nearest_genuine_pair_passes_and_a_copy_of_its_portrait_does_not():
    """deepface_11's photos 2 and 4: studio portraits on plain backgrounds with the same haircut, the genuine pair
    that scored highest (0.53 for this capture)."""
    portrait, other = (
        cv2.cvtColor(cv2.imread(str(CALIBRATION_FACES / "deepface_11" / name)), cv2.COLOR_BGR2RGB)
        for name in ("4.jpg", "2.jpg")
    )
    reference = (portrait, faces.face_single(portrait).landmarks)
    genuine = _checked(reference, attacks.warp_2d(other))
    copy = _checked(reference, attacks.warp_2d(portrait))
    assert not genuine.copied, genuine.detail
    assert copy.copied, copy.detail


def test_the_result_is_recorded_with_its_score_and_frames(portrait, made):
    record = _checked(portrait, made(0, "depth warp")).as_record()
    assert record["copied"] is True
    assert record["score"] >= COPY_THRESHOLD
    assert "frames (surround/face):" in str(record["detail"])
    assert record["surround"] >= COPY_THRESHOLD and record["face"] > record["surround"] - 0.1


def test_it_needs_a_frame(portrait):
    with pytest.raises(ValueError, match="at least one frame"):
        portrait_copy_check(*portrait, [], [])
