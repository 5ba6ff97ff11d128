"""Frames warp on OpenCV or torch (CUDA when present), alike to a grey level; a device the machine lacks is refused."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from inference.animation import animate, animation_track, frame_count, render_frame
from inference.errors import InferenceError
from inference.rig import PARAMETERS, portrait_rig
from inference.speech import synthesize
from inference.warp import DEVICE_SETTING, engine_warper

FPS = 25
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")


@pytest.fixture(scope="module")
def rig(astronaut):
    return portrait_rig(astronaut)


@pytest.fixture(scope="module")
def spoken():
    return synthesize("Maybe the big brown bear will come back.", "en")


@pytest.fixture(scope="module")
def opencv_frames(rig, astronaut, spoken):
    return np.stack(
        list(
            animate(
                astronaut,
                spoken.audio,
                spoken.sample_rate,
                phonemes=list(spoken.phonemes),
                rig=rig,
                seed=3,
                device="cpu",
            )
        )
    )


def assert_alike(frames: np.ndarray, reference: np.ndarray) -> None:
    difference = np.abs(frames.astype(int) - reference)
    assert difference.mean() < 0.1
    assert difference.max() <= 3


def test_torch_frames_of_a_speaking_portrait_match_opencv_frames(rig, astronaut, spoken, opencv_frames):
    frames = np.stack(
        list(
            animate(
                astronaut,
                spoken.audio,
                spoken.sample_rate,
                phonemes=list(spoken.phonemes),
                rig=rig,
                seed=3,
                device="torch-cpu",
            )
        )
    )
    assert (
        frames.shape
        == opencv_frames.shape
        == (frame_count(len(spoken.audio), spoken.sample_rate, FPS), *rig.image.shape)
    )
    # The frames do move: the comparison is not between two copies of the photo.
    assert np.abs(opencv_frames.astype(int) - rig.image).max(axis=(1, 2, 3)).min() > 20
    assert_alike(frames, opencv_frames)


@needs_cuda
def test_cuda_frames_match_opencv_frames(rig, astronaut, spoken, opencv_frames):
    frames = np.stack(
        list(
            animate(
                astronaut,
                spoken.audio,
                spoken.sample_rate,
                phonemes=list(spoken.phonemes),
                rig=rig,
                seed=3,
                device="cuda",
            )
        )
    )
    assert_alike(frames, opencv_frames)


@pytest.mark.parametrize("device", ["torch-cpu", pytest.param("cuda", marks=needs_cuda)])
def test_frames_warped_in_batches_equal_frames_warped_one_at_a_time(rig, astronaut, spoken, device):
    audio = spoken.audio[: spoken.sample_rate]  # 25 frames: a batch of 16 and a shorter one
    batched = list(animate(astronaut, audio, spoken.sample_rate, rig=rig, seed=4, device=device))
    track = animation_track(audio, spoken.sample_rate, len(batched), FPS, seed=4)
    single = [render_frame(rig, dict(zip(PARAMETERS, pose, strict=False)), device=device) for pose in track]
    assert len(batched) == 25
    assert all(np.array_equal(a, b) for a, b in zip(batched, single, strict=False))
    # Many displacement fields over one image, and one image per field.
    warper = engine_warper(device)
    x, y, w, h = rig.roi
    fields = rig.rest + np.linspace(0.2, 1.0, 5, dtype=np.float32)[:, None, None, None] * rig.fields[0]
    together = warper.warp(rig.base, fields, x, y)
    assert together.shape == (5, h, w, 3)
    assert all(np.array_equal(together[i], warper.warp(rig.base, fields[i : i + 1], x, y)[0]) for i in range(5))
    images = np.stack([rig.image, rig.base, rig.image])
    each = warper.warp(images, fields[:3], x, y)
    assert all(np.array_equal(each[i], warper.warp(images[i], fields[i : i + 1], x, y)[0]) for i in range(3))
    assert_alike(together, engine_warper("cpu").warp(rig.base, fields, x, y))


def test_points_far_outside_the_image_mirror_like_opencv(astronaut):
    points = np.random.default_rng(0).uniform(-700, 1200, (2, 40, 50, 2)).astype(np.float32)
    assert_alike(engine_warper("torch-cpu").remap(astronaut, points), engine_warper("cpu").remap(astronaut, points))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_asking_for_cuda_without_a_gpu_is_refused_with_a_clear_message(rig, astronaut, spoken, monkeypatch):
    with pytest.raises(InferenceError) as refused:
        animate(astronaut, spoken.audio, spoken.sample_rate, rig=rig, device="cuda")
    assert refused.value.code == "device_unavailable"
    assert "CUDA GPU" in refused.value.detail and "'cpu'" in refused.value.detail
    monkeypatch.setenv(DEVICE_SETTING, "cuda")
    with pytest.raises(InferenceError) as refused:
        render_frame(rig, {"jaw_open": 0.5})
    assert refused.value.code == "device_unavailable" and f"{DEVICE_SETTING}=cuda" in refused.value.detail


@pytest.mark.parametrize(("device", "setting"), [("gpu", None), (None, "tpu")])
def test_an_unknown_device_is_refused(rig, device, setting, monkeypatch):
    if setting is not None:
        monkeypatch.setenv(DEVICE_SETTING, setting)
    with pytest.raises(InferenceError) as refused:
        render_frame(rig, {}, device=device)
    assert refused.value.code == "invalid_device"
    assert "auto, cpu, cuda, torch-cpu" in refused.value.detail


def test_the_device_setting_picks_the_warper_and_auto_takes_cuda_only_when_present(rig, monkeypatch):
    monkeypatch.delenv(DEVICE_SETTING, raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert engine_warper().device == engine_warper("auto").device == expected
    monkeypatch.setenv(DEVICE_SETTING, "torch-cpu")
    assert engine_warper().device == "torch-cpu"
    assert engine_warper("cpu").device == "cpu"  # an explicit choice beats the setting
    assert_alike(
        render_frame(rig, {"jaw_open": 0.7, "head_nod": 2.0})[None],
        render_frame(rig, {"jaw_open": 0.7, "head_nod": 2.0}, device="cpu")[None],
    )


def test_importing_the_engine_loads_neither_torch_nor_onnxruntime():
    code = (
        "import sys, inference.animation, inference.warp, inference.neural; "
        "print('torch' in sys.modules, 'onnxruntime' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]
