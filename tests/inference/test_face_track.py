"""Tracking the face between detections must find what searching every frame finds: a face swapped in, moved to
another place, joined by a better one or gone between two detections is seen as the detector sees it.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from consent.liveness import (
    DETECT_EVERY,
    PITCH_TURN,
    SEARCH_LIMITS,
    YAW_TURN,
    Clip,
    Liveness,
    face_search,
    head_pose,
    identity_faces,
)
from inference import faces
from inference.errors import InferenceError
from tests.clips import face_crop, head_turned

# Frames 0..23: the detector's own searches fall on frames 0, 8 and 16; the changes below happen in between.
FRAMES = 24
CHANGED = range(10, 13)


@pytest.fixture(scope="module")
def person(same_person_photos) -> np.ndarray:
    return face_crop(same_person_photos[1])


@pytest.fixture(scope="module")
def other_person(grace_hopper) -> np.ndarray:
    return face_crop(grace_hopper)


@pytest.fixture(scope="module")
def no_face() -> np.ndarray:
    """A brick wall, framed like the faces (320 px)."""
    return np.ascontiguousarray(np.repeat(data.brick()[:320, :320, None], 3, axis=2))


def _tracked(frames: list[np.ndarray], limits: faces.SearchLimits | None = SEARCH_LIMITS) -> faces.FaceTrack:
    return faces.faces_track(
        frames, detect=face_search, detect_every=DETECT_EVERY, max_missing=len(frames), limits=limits
    )


def _searched(frames: list[np.ndarray]) -> list[faces.Face | None]:
    return [found[0] if (found := face_search(frame)) else None for frame in frames]


def _assert_same_faces(tracked: faces.FaceTrack, searched: list[faces.Face | None]) -> None:
    for index, (face, expected) in enumerate(zip(tracked.faces, searched, strict=True)):
        assert (face is None) == (expected is None), f"frame {index}: tracked {face}, searched {expected}"
        if face is not None and expected is not None:
            deviation = float(np.abs(face.landmarks - expected.landmarks).max())
            assert deviation <= 2.0, f"frame {index}: landmarks {deviation:.1f} px from the detector's"


def test_a_still_face_is_tracked_with_the_detectors_landmarks_and_searched_every_eighth_frame(person):
    frames = [person] * FRAMES
    tracked = _tracked(frames)
    _assert_same_faces(tracked, _searched(frames))
    assert tracked.detections == 3


@pytest.mark.parametrize("direction", ["left", "down"])
def test_a_head_turning_between_two_detections_reads_the_pose_a_search_of_every_frame_reads(person, direction):
    """A turn as a genuine stand-in makes it (the face's inside moved against its outline in 2 frames, held 10): the
    landmarks fitted in a box carried along drift with the fit, and read a left turn as a nod (issue #15's refused
    stand-ins); the frames where the face changed shape are searched instead.
    """
    landmarks = face_search(person)[0].landmarks
    amounts = [0.0] * 3 + [0.5, 1.0] + [1.0] * 10 + [0.5] + [0.0] * 8
    frames = [head_turned(person, landmarks, direction, amount) for amount in amounts]
    tracked, searched = _tracked(frames), _searched(frames)
    assert all(face is not None for face in [*tracked.faces, *searched])
    tracked_pose = np.column_stack(head_pose(np.stack([face.landmarks for face in tracked.faces])))
    searched_pose = np.column_stack(head_pose(np.stack([face.landmarks for face in searched if face is not None])))
    error = np.abs(tracked_pose - searched_pose) / [YAW_TURN, PITCH_TURN]
    assert error.max() < 0.5, f"frame {int(error.max(axis=1).argmax())}: {error.max():.2f} of a turn's threshold off"
    assert tracked.detections < len(frames) / 2


def test_another_persons_face_cut_in_between_two_detections_is_the_face_tracked_there(person, other_person):
    frames = [other_person if index in CHANGED else person for index in range(FRAMES)]
    tracked = _tracked(frames)
    _assert_same_faces(tracked, _searched(frames))
    other = faces.face_descriptor(other_person, face_search(other_person)[0])
    seen = faces.face_descriptor(frames[CHANGED[1]], tracked.faces[CHANGED[1]])
    assert faces.descriptor_distance(seen, other) < 0.1, "the identity of a cut-in frame is the cut-in face's"


def test_frames_whose_face_is_gone_between_two_detections_show_no_face(person, no_face):
    frames = [no_face if index in CHANGED else person for index in range(FRAMES)]
    tracked = _tracked(frames)
    assert [tracked.faces[index] for index in CHANGED] == [None] * len(CHANGED)
    _assert_same_faces(tracked, _searched(frames))


def test_a_face_moved_to_another_place_between_two_detections_is_found_there(person, no_face):
    """Cut from the person on the left to them on the right: the tracked box is left with a brick wall."""
    left, right = np.concatenate([person, no_face], axis=1), np.concatenate([no_face, person], axis=1)
    frames = [right if index >= CHANGED[0] else left for index in range(FRAMES)]
    tracked = _tracked(frames)
    assert tracked.faces[CHANGED[0]] is not None and tracked.faces[CHANGED[0]].box[0] >= 320
    _assert_same_faces(tracked, _searched(frames))


def test_a_better_face_appearing_beside_between_two_detections_is_found_on_every_frame_since(
    person, other_person, no_face
):
    """The detector's best face changes from the person to someone beside them: the frames since the last search are
    searched again, so each carries the face a search of every frame gives it, not the one tracked before.
    """
    alone, joined = np.concatenate([person, no_face], axis=1), np.concatenate([person, other_person], axis=1)
    frames = [joined if index >= CHANGED[0] else alone for index in range(FRAMES)]
    searched = _searched(frames)
    assert searched[0] is not None and searched[0].box[0] < 320
    assert searched[CHANGED[0]] is not None and searched[CHANGED[0]].box[0] >= 320, "the other face scores higher"
    _assert_same_faces(_tracked(frames), searched)


def test_identity_frames_take_the_tracked_face_not_a_better_scoring_one_beside_it(person, other_person):
    """The identity frames decide whose face this is: the descriptor and the portrait-copy check must see the face whose
    turns and lips were checked, even where the detector ranks someone beside it first.
    """
    joined = np.concatenate([person, other_person], axis=1)
    assert face_search(joined)[0].box[0] >= 320, "the other face scores higher"
    tracked = face_search(person)[0].landmarks
    clip = Clip(frames=(joined,) * 3, times=np.arange(3) / 15, audio=np.zeros(800, np.float32), sample_rate=16_000)
    result = Liveness(None, "live", (), 0.0, 0.0, 3, (0, 2), landmarks=(tracked, None, tracked))
    chosen = identity_faces(clip, result)
    assert [index for index, _face in chosen] == [0, 2]
    assert all(face.box[0] < 320 for _index, face in chosen), "the tracked person on the left"


def test_identity_frames_the_tracking_searched_keep_the_face_that_search_found(person):
    """No frame is searched twice: the tracking's search of a frame is the detector's best face, the tracked one."""
    searched = face_search(person)[0]
    tracked = faces.face_fit(person, searched.box, score=searched.score)
    clip = Clip(
        frames=(person,) * 2,
        times=np.arange(2) / 15,
        audio=np.zeros(800, np.float32),
        sample_rate=16_000,
        faces=(searched, tracked),
        searched=frozenset({0}),
    )
    result = Liveness(None, "live", (), 0.0, 0.0, 2, (0, 1), landmarks=(searched.landmarks, tracked.landmarks))
    (first, kept), (second, found) = identity_faces(clip, result)
    assert (first, second) == (0, 1)
    assert kept is searched, "the tracking's own search"
    assert found is not tracked and found.box == searched.box, "searched by the detector"


def test_a_search_sized_to_the_tracked_face_finds_exactly_what_a_whole_search_finds(person, no_face):
    """The sized search skips the detector's pyramid levels that find only narrower faces and maps its boxes back as
    the whole pyramid does: the same boxes, scores and landmarks, for a face turned, nodding, nearer or further.
    """
    landmarks = face_search(person)[0].landmarks
    frames = [
        person,
        head_turned(person, landmarks, "left", 1.0),
        head_turned(person, landmarks, "down", 1.0),
        np.concatenate([person, no_face], axis=1),
        *(cv2.resize(person, (side, side), interpolation=cv2.INTER_AREA) for side in (200, 272, 448, 640)),
    ]
    for frame in frames:
        whole = faces.faces_detect(frame, upsample=0)
        sized = faces.faces_detect_sized(frame, min_width=faces.SIZED_SEARCH_SHARE * whole[0].box[2])
        assert sized is not None and len(sized) == len(whole) == 1, frame.shape
        assert (sized[0].box, sized[0].score) == (whole[0].box, whole[0].score), frame.shape
        assert np.array_equal(sized[0].landmarks, whole[0].landmarks), frame.shape


def test_a_search_sized_to_the_tracked_face_leaves_out_faces_much_narrower(person, other_person):
    """What the sized search saves: the pyramid levels that find faces under SIZED_SEARCH_SHARE of the tracked width."""
    small = cv2.resize(other_person, (192, 192), interpolation=cv2.INTER_AREA)
    frame = np.concatenate([person, np.pad(small, ((0, 128), (0, 0), (0, 0)), mode="edge")], axis=1)
    whole = faces.faces_detect(frame, upsample=0)
    assert len(whole) == 2 and whole[1].box[2] < faces.SIZED_SEARCH_SHARE * whole[0].box[2], [f.box for f in whole]
    big = max(whole, key=lambda face: face.box[2])
    sized = faces.faces_detect_sized(frame, min_width=faces.SIZED_SEARCH_SHARE * big.box[2])
    assert sized is not None and [(face.box, face.score) for face in sized] == [(big.box, big.score)]


def test_once_eight_frames_in_a_row_showed_no_face_only_every_eighth_is_searched_and_each_face_is_still_found(
    person, no_face
):
    """A face gone for a while and back: after eight searches of the wall, the frames between two searches are not
    searched until the face is found again, and then are, so each frame carries what a search of every frame gives it.
    """
    frames = [person] * 3 + [no_face] * 60 + [person] * 7
    tracked, unlimited = _tracked(frames), _tracked(frames, limits=None)
    _assert_same_faces(tracked, _searched(frames))
    _assert_same_faces(unlimited, _searched(frames))
    assert tracked.detections < unlimited.detections / 2, (tracked.detections, unlimited.detections)


def test_a_face_that_changes_on_every_frame_stops_the_reading_once_the_searches_allowed_are_spent(person):
    """The person and their mirror image in turn: each frame's face differs from the last, so tracking searches each.
    Frame n may be the (first_searches + max_share * n)-th search.
    """
    flipped = np.ascontiguousarray(person[:, ::-1])
    frames = [person if index % 2 == 0 else flipped for index in range(90)]
    allowed = int(SEARCH_LIMITS.first_searches / (1 - SEARCH_LIMITS.max_share))
    assert _tracked(frames[:allowed]).detections == allowed
    with pytest.raises(InferenceError) as refusal:
        _tracked(frames[: allowed + 1])
    assert refusal.value.code == "too_costly"


def test_a_face_the_detector_finds_only_now_and_then_is_looked_for_on_every_frame(person, no_face):
    """Frames with the face among frames without (a face at the edge of detection): fewer than eight misses in a row
    never start the sparse search, so every frame with the face gets it."""
    frames = [no_face if index % 4 in (1, 2) else person for index in range(40)]
    _assert_same_faces(_tracked(frames), _searched(frames))


def test_a_face_back_in_the_last_frames_skipped_while_it_was_lost_is_found_there(person, no_face):
    """The video ends before the next sparse search: its last frame is searched, and the skipped ones with it."""
    frames = [person] * 3 + [no_face] * 8 + [person] * 5
    _assert_same_faces(_tracked(frames), _searched(frames))
