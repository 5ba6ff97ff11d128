"""Track comparison rules that real clips rarely isolate: sound in step with another part of the picture."""

from __future__ import annotations

import numpy as np
import pytest

from provenance import content_tracks
from provenance.content_tracks import ContentTracks, CopyTracks, tracks_compare

FPS = 25.0
FRAMES = 150
# The copy's sound is the render's from this much later: 0.52 s, 13 frames, 26 sound words.
SOUND_LEAD_FRAMES = 13


def _drifting_mouth(bits_per_frame: float) -> tuple[np.ndarray, np.ndarray]:
    """Mouth coefficients (frames, 63) whose bits turn on one after another, bits_per_frame a frame (a mouth that
    changes slowly, so that a shifted picture still fits, only worse), and their hashes against a zero mean."""
    coefficients = -np.ones((FRAMES, 63), np.float32)
    for frame in range(FRAMES):
        turned = int(frame * bits_per_frame) % 64
        coefficients[frame, :turned] = 1.0
    return coefficients, content_tracks._bits(coefficients > 0)


def _render_and_copy(bits_per_frame: float) -> tuple[ContentTracks, CopyTracks]:
    rng = np.random.default_rng(5)
    coefficients, mouth = _drifting_mouth(bits_per_frame)
    sound = rng.integers(0, 2**32, 2 * FRAMES + 100, dtype=np.uint64).astype(np.uint32)
    render = ContentTracks(
        fps=FPS,
        face_box=(0, 0, 10, 10),
        mouth_box=(0, 5, 10, 5),
        face=np.full(FRAMES, 12345, np.uint64),
        mouth=mouth,
        mouth_mean=np.zeros(63, np.float32),
        mouth_mask=(1 << 63) - 1,
        audio=sound,
    )
    shown = slice(20, 60)  # the copy's picture: render frames 20..59, exactly
    copy = CopyTracks(
        times=np.arange(40) / FPS,
        face=render.face[shown],
        mouth_coefficients=coefficients[shown],
        audio=sound[2 * (20 + SOUND_LEAD_FRAMES) : 2 * (60 + SOUND_LEAD_FRAMES)],
        audio_start_s=0.0,
    )
    return render, copy


@pytest.mark.parametrize(
    ("bits_per_frame", "in_step"),
    # 13 frames of drift: 0.35 bits a frame is 4 bits of 63 (0.06, just inside the margin), 0.7 is 8 bits (0.12).
    [(0.35, True), (0.7, False)],
)
def test_sound_in_step_with_another_part_of_the_picture_is_a_mismatch(bits_per_frame, in_step):
    render, copy = _render_and_copy(bits_per_frame)

    compared = tracks_compare(render, copy)

    # The common offset is the sound's (within its sync tolerance), where the picture still fits under its thresholds.
    sound_offset = (20 + SOUND_LEAD_FRAMES) / FPS
    assert sound_offset - content_tracks.AUDIO_SYNC_TOLERANCE_S - 0.01 <= compared.offset_s <= sound_offset
    assert compared.distances["audio"] == 0.0
    assert compared.distances["mouth"] < content_tracks.MOUTH_MATCH_DISTANCE
    assert abs(compared.sync_gap - content_tracks.PICTURE_SYNC_MARGIN) < 0.05
    assert compared.mismatched == (() if in_step else ("audio",))
