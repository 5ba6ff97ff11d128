"""The package face: `inference.animate(image, audio, sample_rate)` and the rest of the API, importable from the
package."""

import importlib
import pkgutil
import subprocess
import sys

import numpy as np
import pytest

import inference
from inference import animation, rig, speech, streaming

FPS = 25


def test_animate_turns_a_portrait_and_audio_into_frames(astronaut):
    spoken = inference.synthesize("Hello there.", "en")
    frames = list(inference.animate(astronaut, spoken.audio, spoken.sample_rate, fps=FPS, seed=3, max_side=256))
    assert len(frames) == inference.frame_count(spoken.audio.size, spoken.sample_rate, FPS)
    assert all(frame.dtype == np.uint8 and frame.shape == frames[0].shape for frame in frames)
    assert max(frames[0].shape[:2]) == 256
    # The same function as animation.animate: the same inputs give the same frames.
    again = animation.animate(astronaut, spoken.audio, spoken.sample_rate, fps=FPS, seed=3, max_side=256)
    assert all(np.array_equal(a, b) for a, b in zip(frames, again, strict=True))


def test_animate_takes_phoneme_timings_for_the_text_path(astronaut):
    spoken = inference.synthesize("Hello there.", "en")
    portrait = inference.portrait_rig(astronaut, max_side=256)
    frames = inference.animate(
        astronaut, spoken.audio, spoken.sample_rate, phonemes=list(spoken.phonemes), seed=1, rig=portrait
    )
    assert sum(1 for _ in frames) == inference.frame_count(spoken.audio.size, spoken.sample_rate, FPS)


def test_every_exported_name_is_its_modules_own():
    assert sorted(inference.__all__) == sorted(set(inference.__all__))
    assert inference.animate is animation.animate
    assert inference.stream is streaming.stream
    assert inference.synthesize is speech.synthesize
    assert inference.portrait_rig is rig.portrait_rig
    for name in inference.__all__:
        assert getattr(inference, name) is not None
    with pytest.raises(AttributeError):
        inference.no_such_name  # noqa: B018


def test_no_module_shares_a_name_with_a_function_of_the_package():
    modules = {info.name for info in pkgutil.iter_modules(inference.__path__)}
    assert not modules & set(inference.__all__)
    for name in modules:
        importlib.import_module(f"inference.{name}")


def test_importing_the_engine_for_its_api_loads_neither_django_nor_opencv():
    code = (
        "import sys, inference; light = 'cv2' not in sys.modules and 'django' not in sys.modules; "
        "print(light, callable(inference.animate), 'django' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.split() == ["True", "True", "False"]
