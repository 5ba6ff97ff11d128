"""Optional neural mouth: an ONNX model redraws each frame's mouth from the face and log-mel audio windows.

The weight-free engine stays the default; a model only runs when one is given
(``animate(..., neural_model=path)``). Each frame, after the rig has posed the
face (so the jaw already opens with the speech) and before eyelids and head
move, the engine crops a square around the face, asks the model for that crop
speaking, and blends the model's crop back through a feathered ellipse over
the mouth and the jaw's reach (``mouth_region``). Pixels outside it stay the
engine's own.

An ONNX model fits when it declares exactly these float32 tensors (N is the
batch: dynamic, or 1 for a model that takes one frame per run):

- input ``face`` (N, 3, S, S): the face crop, RGB 0..1, channels first; S is
  the model's choice (a fixed number, at least 16).
- input ``mel`` (N, MEL_BANDS, MEL_STEPS) = (N, 80, 16): log-mel windows, see
  ``mel_windows``: for each frame 16 hops of 10 ms centred on its middle.
- output ``speaking_face`` (N, 3, S, S): the crop speaking that audio, RGB 0..1.
  Only its mouth region is used.

Models load with onnxruntime, on CUDA when its CUDA provider is available, else
on the CPU. A model that does not fit is refused with an InferenceError.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np

from .errors import InferenceError
from .rig import PortraitRig

FACE_INPUT, MEL_INPUT, FACE_OUTPUT = "face", "mel", "speaking_face"
MEL_BANDS, MEL_STEPS = 80, 16
MEL_HOP_S, MEL_WINDOW_S = 0.01, 0.025
MEL_RANGE_HZ = (55.0, 7600.0)
MEL_FLOOR = 1e-10  # power below this (silence) reads as log(MEL_FLOOR)
_MIN_FACE_SIDE = 16
# The crop is this many times the landmarks' larger extent (room for hair and chin).
_CROP_MARGIN = 1.3
# Mouth region, in mouth widths: an ellipse around the lips lowered towards
# where the jaw takes the lower lip, reaching past the corners' spread and
# smile; its outer share fades to nothing.
_REGION_DROP, _REGION_HALF_WIDTH, _REGION_HALF_HEIGHT = 0.15, 1.1, 0.5
_REGION_FEATHER = 0.25
_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")


@dataclass(frozen=True, eq=False)
class MouthRegion:
    """Where a portrait's face crop lies in its rig's image and how much of the model's crop is used."""

    box: tuple[int, int, int]  # x, y, side of the square crop
    mask: np.ndarray  # (side, side) float32 0..1: the model's share per pixel, 1 over the mouth, 0 beyond it


@dataclass(frozen=True, eq=False)
class MouthModel:
    """An ONNX model that fits the interface, loaded once per file version."""

    session: Any  # onnxruntime.InferenceSession
    face_side: int  # S
    frames_per_run: int | None  # 1 for a model with a fixed batch of one, None for any batch


@dataclass(frozen=True, eq=False)
class NeuralMouth:
    """A model bound to one portrait's mouth region."""

    model: MouthModel
    region: MouthRegion

    def redraw(self, frames: np.ndarray, mels: np.ndarray) -> None:
        """Blend the model's mouth into frames (B, H, W, 3) uint8 in place, one mel window (B, MEL_BANDS, MEL_STEPS)
        each."""
        x, y, side = self.region.box
        crops = frames[:, y : y + side, x : x + side]
        size = self.model.face_side
        shrink = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
        faces = np.stack([cv2.resize(crop, (size, size), interpolation=shrink) for crop in crops])
        mask = self.region.mask[..., None]
        for crop, spoken in zip(crops, speaking_faces(self.model, faces, mels), strict=False):
            model_pixels = cv2.resize(spoken, (side, side), interpolation=cv2.INTER_LINEAR) * 255
            crop[:] = np.clip(crop * (1 - mask) + model_pixels * mask + 0.5, 0, 255).astype(np.uint8)


def neural_mouth(path: str | os.PathLike[str], rig: PortraitRig) -> NeuralMouth:
    """The ONNX model at path, checked against the interface, bound to the rig's mouth."""
    return NeuralMouth(mouth_model(path), mouth_region(rig))


def mouth_model(path: str | os.PathLike[str]) -> MouthModel:
    """The ONNX model at path, loaded once per file version; InferenceError if unreadable or not fitting the
    interface."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as error:
        raise InferenceError(
            "invalid_neural_model", f"cannot read the neural model {path}: {error.strerror}"
        ) from error
    return _load(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int, size: int) -> MouthModel:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: the engine reports problems itself
    available = onnxruntime.get_available_providers()
    try:
        session = onnxruntime.InferenceSession(path, options, providers=[p for p in _PROVIDERS if p in available])
    except Exception as error:  # onnxruntime's errors share no base class narrower than Exception
        raise InferenceError(
            "invalid_neural_model", f"{Path(path).name} is not a loadable ONNX model: {error}"
        ) from error
    side, frames_per_run = _check_interface(session, Path(path).name)
    return MouthModel(session=session, face_side=side, frames_per_run=frames_per_run)


def _check_interface(session: Any, name: str) -> tuple[int, int | None]:
    """(S, frames per run) of a session whose inputs and outputs fit the interface; InferenceError naming what does
    not."""
    inputs = {tensor.name: tensor for tensor in session.get_inputs()}
    outputs = {tensor.name: tensor for tensor in session.get_outputs()}
    expected = (
        f"inputs {FACE_INPUT!r} (N, 3, S, S) and {MEL_INPUT!r} (N, {MEL_BANDS}, {MEL_STEPS}), "
        f"output {FACE_OUTPUT!r} (N, 3, S, S), all float32"
    )

    def refuse(problem: str) -> InferenceError:
        return InferenceError(
            "invalid_neural_model",
            f"{name} does not fit Candor's neural mouth interface ({problem}); a model needs {expected}",
        )

    if set(inputs) != {FACE_INPUT, MEL_INPUT} or FACE_OUTPUT not in outputs:
        raise refuse(f"it has inputs {sorted(inputs)} and outputs {sorted(outputs)}")
    for tensor in (inputs[FACE_INPUT], inputs[MEL_INPUT], outputs[FACE_OUTPUT]):
        if tensor.type != "tensor(float)":
            raise refuse(f"{tensor.name!r} is {tensor.type}")
    face, mel, spoken = inputs[FACE_INPUT].shape, inputs[MEL_INPUT].shape, outputs[FACE_OUTPUT].shape
    side = face[2] if len(face) == 4 else None
    if not (len(face) == 4 and face[1] == 3 and isinstance(side, int) and side >= _MIN_FACE_SIDE and face[3] == side):
        raise refuse(f"{FACE_INPUT!r} has shape {face}")
    if list(mel[1:]) != [MEL_BANDS, MEL_STEPS] or len(mel) != 3:
        raise refuse(f"{MEL_INPUT!r} has shape {mel}")
    if len(spoken) != 4 or any(
        isinstance(dim, int) and dim != want for dim, want in zip(spoken[1:], (3, side, side), strict=False)
    ):
        raise refuse(f"{FACE_OUTPUT!r} has shape {spoken}")
    batches = {dim for dim in (face[0], mel[0]) if isinstance(dim, int)}
    if batches - {1}:
        raise refuse(f"its batch dimension is fixed at {sorted(batches)}; make it dynamic or 1")
    return side, 1 if batches else None


def speaking_faces(model: MouthModel, faces: np.ndarray, mels: np.ndarray) -> np.ndarray:
    """(B, S, S, 3) float32 RGB 0..1 of the model's speaking faces for face crops (B, S, S, 3) uint8 and mels (B,
    MEL_BANDS, MEL_STEPS)."""
    face_input = np.ascontiguousarray(faces.transpose(0, 3, 1, 2), np.float32) / 255
    mel_input = np.ascontiguousarray(mels, np.float32)
    step = model.frames_per_run or len(faces)
    try:
        spoken = np.concatenate(
            [
                model.session.run(
                    [FACE_OUTPUT], {FACE_INPUT: face_input[i : i + step], MEL_INPUT: mel_input[i : i + step]}
                )[0]
                for i in range(0, len(faces), step)
            ]
        )
    except Exception as error:  # onnxruntime's errors share no base class narrower than Exception
        raise InferenceError("neural_model_failed", f"the neural model failed on a frame: {error}") from error
    side = model.face_side
    if spoken.shape != (len(faces), 3, side, side) or not np.all(np.isfinite(spoken)):
        raise InferenceError(
            "neural_model_failed",
            f"the neural model gave {spoken.shape} values (finite: "
            f"{bool(np.all(np.isfinite(spoken)))}), not finite {FACE_OUTPUT!r} ({len(faces)}, 3, {side}, {side})",
        )
    return cast(np.ndarray, np.clip(spoken.transpose(0, 2, 3, 1), 0.0, 1.0).astype(np.float32))


def mouth_region(rig: PortraitRig) -> MouthRegion:
    """The square face crop of the rig's image and its feathered mouth mask (1 inside, fading to 0)."""
    height, width = rig.image.shape[:2]
    landmarks = rig.landmarks
    mouth_width = float(np.linalg.norm(landmarks[54] - landmarks[48]))
    middle_x, middle_y = landmarks[48:68].mean(axis=0) + (0.0, _REGION_DROP * mouth_width)
    low, high = landmarks.min(axis=0), landmarks.max(axis=0)
    centre = (low + high) / 2
    # The crop holds the whole ellipse too, so the mask fades out before the crop's edge.
    reach = np.abs((middle_x, middle_y) - centre) + (
        _REGION_HALF_WIDTH * mouth_width,
        _REGION_HALF_HEIGHT * mouth_width,
    )
    side = min(int(np.ceil(max(_CROP_MARGIN * float(np.max(high - low)), 2 * float(np.max(reach)) + 2))), height, width)
    x = int(np.clip(round(centre[0] - side / 2), 0, width - side))
    y = int(np.clip(round(centre[1] - side / 2), 0, height - side))
    columns = (np.arange(x, x + side, dtype=np.float32) - middle_x) / (_REGION_HALF_WIDTH * mouth_width)
    rows = (np.arange(y, y + side, dtype=np.float32)[:, None] - middle_y) / (_REGION_HALF_HEIGHT * mouth_width)
    inside = np.clip((1 - np.sqrt(columns**2 + rows**2)) / _REGION_FEATHER, 0.0, 1.0)
    mask = (inside * inside * (3 - 2 * inside)).astype(np.float32)  # smoothstep: no edge where the fade begins or ends
    mask.flags.writeable = False
    return MouthRegion(box=(x, y, side), mask=mask)


def mel_windows(audio: np.ndarray, sample_rate: int, times: np.ndarray) -> np.ndarray:
    """(len(times), MEL_BANDS, MEL_STEPS) float32 log-mel windows of mono float audio (N,) at times (n,) in seconds.

    Window k holds MEL_STEPS hops MEL_HOP_S apart centred on times[k]; each hop
    is the natural log of the power (|rfft|², audio in -1..1) of a Hann-windowed
    MEL_WINDOW_S slice in MEL_BANDS triangular bands evenly spaced on the HTK
    mel scale over MEL_RANGE_HZ, floored at MEL_FLOOR. Beyond the audio, and
    in bands above half the sample rate, is silence.
    """
    window = int(round(MEL_WINDOW_S * sample_rate))
    n_fft = 1 << (window - 1).bit_length()
    offsets = (np.arange(MEL_STEPS) - (MEL_STEPS - 1) / 2) * MEL_HOP_S
    starts = np.round((np.asarray(times, np.float64)[:, None] + offsets) * sample_rate - window / 2).astype(np.int64)
    index = starts.reshape(-1, 1) + np.arange(window)
    inside = (index >= 0) & (index < len(audio))
    slices = np.where(inside, audio[np.clip(index, 0, len(audio) - 1)].astype(np.float64), 0.0) * np.hanning(window)
    power = np.abs(np.fft.rfft(slices, n_fft, axis=1)) ** 2
    bands = np.log(np.maximum(power @ _mel_filters(sample_rate, n_fft), MEL_FLOOR))
    return cast(np.ndarray, bands.reshape(len(starts), MEL_STEPS, MEL_BANDS).transpose(0, 2, 1).astype(np.float32))


@functools.lru_cache(maxsize=8)
def _mel_filters(sample_rate: int, n_fft: int) -> np.ndarray:
    """(n_fft // 2 + 1, MEL_BANDS) triangular mel filter weights."""

    def mel(hz: float) -> Any:
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    edges = 700.0 * (10 ** (np.linspace(mel(MEL_RANGE_HZ[0]), mel(MEL_RANGE_HZ[1]), MEL_BANDS + 2) / 2595.0) - 1.0)
    frequencies = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)[:, None]
    rising = (frequencies - edges[:-2]) / (edges[1:-1] - edges[:-2])
    falling = (edges[2:] - frequencies) / (edges[2:] - edges[1:-1])
    return np.maximum(0.0, np.minimum(rising, falling))
