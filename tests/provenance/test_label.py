"""The visible label: drawn in the lower-left corner and nowhere else."""

import numpy as np

from provenance.label import frame_label


def test_the_label_marks_the_lower_left_corner_only():
    frame = np.full((512, 384, 3), 200, np.uint8)
    labelled = frame_label(frame)
    changed = np.argwhere(np.any(labelled != frame, axis=2))
    assert changed.size > 0
    assert changed[:, 0].min() > 512 * 0.8, "label reaches above the bottom fifth"
    assert changed[:, 1].max() < 384 * 0.6, "label reaches into the right side"
    corner = labelled[-30:, :120].astype(int)
    assert corner.min() < 120 and corner.max() > 230, "the label needs a dark box and light text"
    assert np.array_equal(frame, np.full((512, 384, 3), 200, np.uint8)), "the input frame was modified"
