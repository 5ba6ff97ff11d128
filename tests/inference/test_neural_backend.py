"""An ONNX mouth model redraws only the mouth, follows the audio, and a model that does not fit is refused."""

import warnings

import cv2
import numpy as np
import pytest
import torch

from inference.animation import animate, render_frame
from inference.errors import InferenceError
from inference.neural import MEL_BANDS, MEL_FLOOR, MEL_RANGE_HZ, MEL_STEPS, mel_windows, mouth_region, neural_mouth
from inference.rig import portrait_rig

RATE = 16000
SILENT_COLOUR = np.array([40, 200, 120], np.uint8)
SPEAKING_COLOUR = np.array([200, 40, 120], np.uint8)


class SolidMouth(torch.nn.Module):
    """Paints the whole crop one colour: SILENT_COLOUR while its audio window is silent, SPEAKING_COLOUR once it holds
    sound."""

    def forward(self, face, mel):
        sound = (mel.amax(dim=(1, 2)) > float(np.log(MEL_FLOOR)) + 1).float()[:, None, None, None]
        silent, speaking = (
            torch.tensor(colour / 255, dtype=torch.float32)[None, :, None, None]
            for colour in (SILENT_COLOUR, SPEAKING_COLOUR)
        )
        return face * 0 + silent + sound * (speaking - silent)


class Passthrough(torch.nn.Module):
    def forward(self, face, mel):
        return face + 0 * mel.mean()


def export(
    module, path, *, names=("face", "mel", "speaking_face"), face_shape=(3, 32, 32), mel_shape=(MEL_BANDS, MEL_STEPS)
):
    face, mel, output = names
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter is deprecated but needs only the onnx package
        torch.onnx.export(
            module,
            (torch.zeros(2, *face_shape), torch.zeros(2, *mel_shape)),
            str(path),
            input_names=[face, mel],
            output_names=[output],
            dynamic_axes={face: {0: "n"}, mel: {0: "n"}, output: {0: "n"}},
            dynamo=False,
        )
    return path


def tone(seconds: float, hz: float = 200.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.fixture(scope="module")
def rig(astronaut):
    return portrait_rig(astronaut)


@pytest.fixture(scope="module")
def solid_model(tmp_path_factory):
    return export(SolidMouth(), tmp_path_factory.mktemp("models") / "solid.onnx")


def image_mask(rig) -> np.ndarray:
    """(H, W) the model's share per pixel of the rig's image."""
    region = mouth_region(rig)
    x, y, side = region.box
    mask = np.zeros(rig.image.shape[:2], np.float32)
    mask[y : y + side, x : x + side] = region.mask
    return mask


def test_a_model_painting_one_colour_changes_exactly_the_mouth_region(rig, solid_model):
    engine = render_frame(rig, {"jaw_open": 0.6, "blink_left": 1.0})
    frames = engine[None].copy()
    neural_mouth(solid_model, rig).redraw(frames, mel_windows(tone(1.0), RATE, np.array([0.5])))
    mask = image_mask(rig)
    crop_mask = mouth_region(rig).mask
    assert not (
        crop_mask[[0, -1]].any() or crop_mask[:, [0, -1]].any()
    )  # faded out inside the crop: no seam at its edge
    changed = np.any(frames[0] != engine, axis=2)
    assert changed.any() and not changed[mask == 0].any()
    assert (frames[0][mask == 1] == SPEAKING_COLOUR).all()
    # The region covers the lips and their reach, and stops short of the eyes and the nose's bridge.
    lips = np.round(rig.landmarks[48:68]).astype(int)
    assert (mask[lips[:, 1], lips[:, 0]] == 1).all()
    upper_face = np.round(rig.landmarks[[*range(27, 31), *range(36, 48)]]).astype(int)
    assert (mask[upper_face[:, 1], upper_face[:, 0]] == 0).all()


@pytest.mark.parametrize("device", ["cpu", "torch-cpu"])  # one frame per model run, and batches of frames
def test_the_mouth_follows_the_audio_through_animate(rig, astronaut, solid_model, device):
    audio = np.concatenate([np.zeros(RATE, np.float32), tone(1.0)])
    frames = list(animate(astronaut, audio, RATE, rig=rig, seed=2, neural_model=solid_model, device=device))
    plain = list(animate(astronaut, audio, RATE, rig=rig, seed=2, device=device))
    assert len(frames) == len(plain) == 50
    centre = np.round(rig.landmarks[48:68].mean(axis=0)).astype(int)
    assert (frames[10][centre[1], centre[0]] == SILENT_COLOUR).all()
    assert (frames[40][centre[1], centre[0]] == SPEAKING_COLOUR).all()
    # Away from the mouth (beyond the head's few pixels of sway) the frames are the engine's own.
    near_mouth = cv2.dilate((image_mask(rig) > 0).astype(np.uint8), np.ones((21, 21), np.uint8)).astype(bool)
    for with_model, without in zip(frames, plain, strict=False):
        assert np.array_equal(with_model[~near_mouth], without[~near_mouth])
        assert not np.array_equal(with_model, without)


def test_a_model_that_returns_its_input_leaves_the_frame_as_it_was(rig, tmp_path):
    engine = render_frame(rig, {"jaw_open": 0.4})
    frames = engine[None].copy()
    neural_mouth(export(Passthrough(), tmp_path / "same.onnx"), rig).redraw(
        frames, mel_windows(tone(1.0), RATE, np.array([0.5]))
    )
    # Only the crop's trip down to the model's 32 px and back blurs the mouth.
    difference = np.abs(frames[0].astype(int) - engine)
    assert difference[image_mask(rig) == 0].max() == 0
    assert 0 < difference.mean() < 1


@pytest.mark.parametrize(
    ("export_options", "complaint"),
    [
        ({"names": ("image", "mel", "speaking_face")}, "inputs ['image', 'mel']"),
        ({"names": ("face", "mel", "mouth")}, "outputs ['mouth']"),
        ({"mel_shape": (40, MEL_STEPS)}, "'mel' has shape"),
        ({"face_shape": (3, 32, 24)}, "'face' has shape"),
        ({"face_shape": (1, 32, 32)}, "'face' has shape"),
    ],
    ids=["input-names", "output-name", "mel-bands", "non-square-face", "grey-face"],
)
def test_a_model_that_does_not_fit_the_interface_is_refused_before_any_frame(
    rig, astronaut, tmp_path, export_options, complaint
):
    class Fitting(torch.nn.Module):
        def forward(self, face, mel):
            return face[:, :1].expand(-1, 3, -1, -1) * mel.mean()

    model = export(Fitting(), tmp_path / "misfit.onnx", **export_options)
    with pytest.raises(InferenceError) as refused:
        animate(astronaut, tone(0.5), RATE, rig=rig, neural_model=model)
    assert refused.value.code == "invalid_neural_model"
    assert complaint in refused.value.detail
    assert "'face' (N, 3, S, S)" in refused.value.detail and "(N, 80, 16)" in refused.value.detail


def test_an_unreadable_model_file_is_refused(rig, astronaut, tmp_path):
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not a model")
    for path, complaint in (
        (garbage, "not a loadable ONNX model"),
        (tmp_path / "missing.onnx", "cannot read the neural model"),
    ):
        with pytest.raises(InferenceError) as refused:
            animate(astronaut, tone(0.5), RATE, rig=rig, neural_model=path)
        assert refused.value.code == "invalid_neural_model" and complaint in refused.value.detail


def test_mel_windows_place_a_tone_in_its_band_and_silence_at_the_floor():
    audio = np.concatenate([np.zeros(RATE, np.float32), tone(1.0, hz=1000.0)])
    windows = mel_windows(audio, RATE, np.array([0.3, 1.5, 1.0]))
    assert windows.shape == (3, MEL_BANDS, MEL_STEPS) and windows.dtype == np.float32
    assert (windows[0] == np.float32(np.log(MEL_FLOOR))).all()
    mels = np.linspace(*(2595 * np.log10(1 + np.array(MEL_RANGE_HZ) / 700)), MEL_BANDS + 2)[1:-1]
    centres = 700 * (10 ** (mels / 2595) - 1)
    loudest = windows[1].mean(axis=1).argmax()
    assert abs(centres[loudest] - 1000) < 60
    # Centred on the tone's onset: the earlier half of the hops is silent, the later half holds the tone.
    onset = windows[2, loudest]
    assert (onset[: MEL_STEPS // 2 - 2] == np.float32(np.log(MEL_FLOOR))).all() and (
        onset[MEL_STEPS // 2 + 1 :] > 0
    ).all()
