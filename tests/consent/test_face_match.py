"""The face-matching thresholds reproduce the rates documented in docs/face-matching.md on a fast subset of the set.

The subset is five people of benchmarks/data/faces (22 photos): the set's hardest same-person photos
(deepface_02/1 against deepface_02/2 measure 0.60) and its closest look-alikes (deepface_11 against
deepface_12/2, 0.52), beside three people that match easily. Moving any threshold past a pair's distance
changes a count below and fails the test.
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


def test_consent_threshold_refuses_every_different_person_and_the_documented_same_person_pairs(uploads):
    same, different = uploads.same_values(), uploads.different_values()
    assert int(np.sum(different <= face_match.CONSENT_MATCH_DISTANCE)) == 0
    assert int(np.sum(same > face_match.CONSENT_MATCH_DISTANCE)) == 10  # 12.5% of 80 photo pairs


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
    # ...nor accepted as the same person for consent, by a margin of about 0.015.
    assert not face_match.consent_matches(closest_strangers)
    assert closest_strangers - face_match.CONSENT_MATCH_DISTANCE < 0.03


def test_capture_brackets_through_the_consent_pipeline(subset):
    """Two live captures built from photos and analysed as consent analyses them: one just inside, one just outside."""
    order = [photo.file for photo in bench.load_set()]
    captures = {}
    for name in ("deepface_02/4.jpg", "deepface_11/2.jpg"):
        photo = _photo(subset, name)
        bench.capture_frames(photo, order.index(name))
        assert photo.capture_frames is not None and len(photo.capture_frames) >= 3, photo.capture_note
        captures[name] = photo
    same = face_match.capture_distance(
        list(captures["deepface_02/4.jpg"].capture_frames), _photo(subset, "deepface_02/5.jpg").portrait
    )
    strangers = face_match.capture_distance(
        list(captures["deepface_11/2.jpg"].capture_frames), _photo(subset, "deepface_12/2.jpg").portrait
    )
    assert same == pytest.approx(0.479, abs=0.01)
    assert strangers == pytest.approx(0.514, abs=0.01)
    assert face_match.consent_matches(same) and face_match.removal_matches(same)
    assert not face_match.consent_matches(strangers) and not face_match.removal_matches(strangers)


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
