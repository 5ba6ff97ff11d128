"""The visible label: drawn in the corner asked for (top-left by default, clear of a player's controls) and nowhere
else."""

import numpy as np
import pytest

from provenance.label import LABEL_CORNERS, frame_label


def _changed(frame: np.ndarray, corner: str | None = None) -> np.ndarray:
    labelled = frame_label(frame) if corner is None else frame_label(frame, corner)
    return np.argwhere(np.any(labelled != frame, axis=2))


def test_the_label_marks_the_top_left_corner_by_default():
    frame = np.full((512, 384, 3), 200, np.uint8)
    labelled = frame_label(frame)
    changed = _changed(frame)
    assert changed.size > 0
    assert changed[:, 0].max() < 512 * 0.2, "label reaches below the top fifth, where the player's controls go"
    assert changed[:, 1].max() < 384 * 0.6, "label reaches into the right side"
    corner = labelled[:30, :120].astype(int)
    assert corner.min() < 120 and corner.max() > 230, "the label needs a dark box and light text"
    assert np.array_equal(frame, np.full((512, 384, 3), 200, np.uint8)), "the input frame was modified"


@pytest.mark.parametrize("corner", LABEL_CORNERS)
def test_the_label_goes_in_the_corner_asked_for_and_stays_inside_the_frame(corner):
    frame = np.full((360, 640, 3), 200, np.uint8)
    rows, columns = _changed(frame, corner).T
    top, left = corner.split("-")
    assert (rows.max() < 360 * 0.2) if top == "top" else (rows.min() > 360 * 0.8)
    assert (columns.max() < 640 * 0.4) if left == "left" else (columns.min() > 640 * 0.6)
    assert rows.min() > 0 and columns.min() > 0 and rows.max() < 359 and columns.max() < 639, "label touches an edge"


def test_an_unknown_corner_is_refused():
    with pytest.raises(ValueError, match="top-left"):
        frame_label(np.zeros((64, 64, 3), np.uint8), "middle")
