"""The face-matching thresholds reproduce the rates documented in docs/face-matching.md on a fast subset of the set.

The subset is five people of benchmarks/data/faces (22 photos): the set's hardest same-person photos
(deepface_02/1 against deepface_02/2 measure 0.60) and its closest look-alikes (deepface_11 against
deepface_12/2, 0.52), beside three people that match easily. Moving any threshold past a pair's distance
changes a count below and fails the test; the capture brackets put a real capture just inside and just outside
each consent line.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import face_match as bench
from consent import face_match

SUBSET = ("deepface_02", "deepface_11", "deepface_12", "kit_harington", "obama")


@pytest.fixture(scope="module")
def subset() -> list[bench.Photo]:
    photos = bench.load_set(people=SUBSET)
    bench.describe(photos, captures=False, cache_dir=None)
    return photos


@pytest.fixture(scope="module")
def uploads(subset) -> bench.Distances:
    """Every ordered pair of the subset: an upload (with its mirror image) against another photo."""
    return bench.distances(subset, bench.photo_with_mirror, ordered=True)


def _photo(photos, name: str) -> bench.Photo:
    return next(photo for photo in photos if photo.file == name)


def test_the_subset_is_the_one_documented(uploads):
    assert (len(uploads.same), len(uploads.different)) == (80, 382)


def test_consent_bands_accept_no_stranger_and_refuse_few_same_person_pairs(uploads):
    outcomes = {
        key: [face_match.consent_identity(d) for d in values]
        for key, values in (("same", uploads.same_values()), ("diff", uploads.different_values()))
    }
    assert outcomes["diff"].count("accept") == 0
    assert outcomes["diff"].count("review") == 9  # the look-alikes, for a person to look at
    assert outcomes["same"].count("accept") == 70
    assert outcomes["same"].count("refuse") == 2  # 2.5% of 80 photo pairs; the other 8 are reviewed


def test_registry_bands_refuse_no_stranger_and_let_no_same_person_upload_pass_unchecked(uploads):
    same, different = uploads.same_values(), uploads.different_values()
    outcomes = {
        key: [face_match.registry_decision(d) for d in values] for key, values in (("same", same), ("diff", different))
    }
    assert outcomes["diff"].count("refuse") == 0
    assert outcomes["same"].count("pass") == 0
    assert outcomes["same"].count("refuse") == 80 - 26
    assert outcomes["diff"].count("review") == 39  # strangers a person looks at (10% here: look-alikes chosen)


def test_photo_brackets_sit_just_inside_and_just_outside(subset):
    hardest_same = bench.photo_with_mirror(_photo(subset, "deepface_02/1.jpg"), _photo(subset, "deepface_02/2.jpg"))
    closest_strangers = bench.photo_with_mirror(
        _photo(subset, "deepface_11/2.jpg"), _photo(subset, "deepface_12/2.jpg")
    )
    assert hardest_same == pytest.approx(0.602, abs=0.005)
    assert closest_strangers == pytest.approx(0.516, abs=0.005)
    # The hardest same-person upload is held for review, not passed; the closest strangers are not refused.
    assert face_match.registry_decision(hardest_same) == "review"
    assert face_match.REGISTRY_REVIEW_DISTANCE - hardest_same < 0.1
    assert face_match.registry_decision(closest_strangers) == "review"
    # ...nor accepted as the same person for consent by themselves, by a margin of about 0.015: a person reviews them.
    assert face_match.consent_identity(closest_strangers) == "review"
    assert closest_strangers - face_match.CONSENT_ACCEPT_DISTANCE < 0.03


def test_capture_brackets_through_the_consent_pipeline(subset):
    """Live captures built from photos and analysed as consent analyses them, each against another photo as the
    portrait: one just inside and one just outside the accept line, and the same for the refuse line.
    """
    order = [photo.file for photo in bench.load_set()]

    def distance(capture_name: str, portrait_name: str) -> float:
        photo = _photo(subset, capture_name)
        if photo.capture_frames is None:
            bench.capture_frames(photo, order.index(capture_name))
        assert photo.capture_frames is not None and len(photo.capture_frames) >= 3, photo.capture_note
        return face_match.capture_distance(list(photo.capture_frames), _photo(subset, portrait_name).portrait)

    same = distance("deepface_02/4.jpg", "deepface_02/5.jpg")
    strangers = distance("deepface_11/2.jpg", "deepface_12/2.jpg")
    assert same == pytest.approx(0.465, abs=0.01) and strangers == pytest.approx(0.524, abs=0.01)
    assert face_match.consent_identity(same) == "accept" and face_match.removal_matches(same)
    assert face_match.consent_identity(strangers) == "review" and not face_match.removal_matches(strangers)
    # The refuse line: captures of one person (deepface_02) against its two hardest portraits.
    reviewed = distance("deepface_02/5.jpg", "deepface_02/2.jpg")
    refused = distance("deepface_02/2.jpg", "deepface_02/1.jpg")
    assert reviewed == pytest.approx(0.572, abs=0.005) and refused == pytest.approx(0.600, abs=0.005)
    assert face_match.consent_identity(reviewed) == "review"
    assert face_match.consent_identity(refused) == "refuse"


def test_capture_distance_takes_the_median_of_the_best_frames_against_portrait_and_mirror():
    rng = np.random.default_rng(0)
    portrait = rng.normal(size=128)
    mirrored = portrait + 0.01
    portrait_pair = face_match.PortraitDescriptors(portrait, mirrored)

    def at(distance: float, reference: np.ndarray) -> np.ndarray:
        direction = rng.normal(size=128)
        return reference + distance * direction / np.linalg.norm(direction)

    frames = [at(0.3, mirrored), at(0.35, portrait), at(0.4, portrait), at(0.9, portrait), at(0.9, portrait)]
    # The best three of five are 0.30 (against the mirror image), 0.35 and 0.40: their median is 0.35.
    assert face_match.capture_distance(frames, portrait_pair) == pytest.approx(0.35, abs=0.02)
    # One lucky frame cannot accept a stranger: the median of the best three is the second-best frame.
    lucky = [at(0.1, portrait)] + [at(0.9, portrait)] * 4
    assert face_match.capture_distance(lucky, portrait_pair) > 0.8
    with pytest.raises(ValueError):
        face_match.capture_distance([], portrait_pair)


def _at(distance: float) -> np.ndarray:
    """A frame descriptor this far from the zero descriptor."""
    return np.r_[distance, np.zeros(127)]


def test_an_accept_line_accepts_only_what_no_further_frame_could_take_back():
    """capture_distance is the median of the BEST_FRAMES closest frames: once that many frames are within the line, more
    frames only bring it closer; with fewer it is no bound (two frames' median is their mean).
    """
    portrait = np.zeros(128)
    line = face_match.AcceptLine(portrait, face_match.CONSENT_ACCEPT_DISTANCE)
    two = [_at(0.30), _at(0.62)]
    assert face_match.capture_distance(two, portrait) <= line.distance
    assert not line.accepted(two), "three more frames at 0.62 would measure 0.62"
    assert face_match.capture_distance([*two, *[_at(0.62)] * 3], portrait) > line.distance
    within = [_at(0.30), _at(0.50), _at(0.90)]
    assert line.accepted(within)
    for rest in ([_at(0.90), _at(0.90)], [_at(0.0), _at(0.0)], [_at(0.55), _at(0.1)]):
        assert face_match.capture_distance([*within, *rest], portrait) <= line.distance
    assert not line.accepted([_at(0.30), _at(0.51), _at(0.90)])
