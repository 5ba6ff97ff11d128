"""The quality judge's thresholds hold for a real render, so quality cannot silently regress."""

import pytest

from benchmarks import quality
from inference import speech
from inference.animate import animate, render_frame
from inference.rig import portrait_rig


@pytest.fixture(scope="module")
def rig(astronaut):
    return portrait_rig(astronaut)


@pytest.fixture(scope="module")
def reference(rig):
    return quality.reference(rig.image)  # the portrait at the rendered size


@pytest.fixture(scope="module")
def judged(rig, reference):
    spoken = speech.synthesize("Maybe Bob will bring my map back by the morning.", "en")
    assert 2.5 < len(spoken.audio) / spoken.sample_rate < 4.0
    frames = animate(None, spoken.audio, spoken.sample_rate, phonemes=spoken.phonemes, seed=1, rig=rig)
    return quality.judge_clip("en/text", reference, frames, spoken.audio, spoken.sample_rate, spoken.phonemes)


def test_three_seconds_from_text_are_in_sync(judged):
    assert abs(judged.offset) <= quality.TARGET_OFFSET_FRAMES


def test_three_seconds_from_text_close_the_lips_on_bilabials(judged):
    assert judged.n_bilabials >= 8
    assert judged.closure >= quality.TARGET_CLOSURE
    assert judged.open_ratio > 3


def test_three_seconds_from_text_keep_the_person_recognisable(judged):
    assert judged.identity_p90 <= quality.TARGET_IDENTITY_P90
    assert judged.background_ssim >= quality.TARGET_BACKGROUND_SSIM


def test_the_judge_sees_a_closed_mouth_as_closed_and_an_open_one_as_open(rig, reference):
    def aperture(params):
        return quality.frame_aperture(render_frame(rig, params), reference)

    closed, half, wide = aperture({"lip_close": 1.0}), aperture({"jaw_open": 0.4}), aperture({"jaw_open": 1.0})
    assert closed <= quality.CLOSED_APERTURE
    assert wide > half > closed
    assert wide > 3 * quality.CLOSED_APERTURE
