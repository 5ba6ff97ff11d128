"""dlib's face-descriptor network converted to ONNX and run by onnxruntime gives dlib's own descriptors (within float32
rounding, far inside the distance thresholds they are compared against), and a file that is not the network is
refused with a message, not a crash.
"""

from __future__ import annotations

import dlib
import numpy as np
import pytest

from inference import descriptor_net, faces
from inference.errors import InferenceError
from tests.conftest import photos_read

# Measured: 1.4e-6 per component, 5.2e-6 Euclidean on 35 chips (faces, flipped, brightness-shifted, noise).
TOLERANCE = 1e-4


def _chips(image: np.ndarray) -> list[np.ndarray]:
    """The face chips of an RGB photo, cut as faces.face_descriptors cuts them."""
    return faces.face_chips([(image, face) for face in faces.faces_detect(image)])


MODEL_PATH = faces.model_path(descriptor_net.MODEL_FILENAME)


@pytest.fixture(scope="session")
def session():
    return descriptor_net.session_create(descriptor_net.net_read(MODEL_PATH))


@pytest.fixture(scope="session")
def face_chips(astronaut) -> list[np.ndarray]:
    """The faces of the three test photos and the astronaut, each also mirrored and darkened."""
    chips = [
        chip for photo in [*photos_read("obama.jpg", "obama2.jpg", "obama3.jpg"), astronaut] for chip in _chips(photo)
    ]
    assert len(chips) == 4
    mirrored = [np.ascontiguousarray(chip[:, ::-1]) for chip in chips]
    darkened = [np.clip(chip.astype(np.int16) - 40, 0, 255).astype(np.uint8) for chip in chips]
    return chips + mirrored + darkened


def test_the_onnx_network_gives_dlibs_descriptors_of_real_face_chips(session, face_chips):
    dlib_model = dlib.face_recognition_model_v1(str(MODEL_PATH))
    expected = np.array([np.asarray(vector) for vector in dlib_model.compute_face_descriptor(face_chips)])
    ours = descriptor_net.descriptors(face_chips, session)
    assert ours.shape == (len(face_chips), 128) and ours.dtype == np.float64
    assert np.abs(ours - expected).max() <= TOLERANCE
    assert np.linalg.norm(ours - expected, axis=1).max() <= TOLERANCE


def test_faces_are_described_by_the_onnx_network_as_dlib_describes_them():
    """What every identity check uses (portraits, captures, the registry): faces.face_descriptors, on whole photos."""
    dlib_model = dlib.face_recognition_model_v1(str(MODEL_PATH))
    for photo in photos_read("obama.jpg", "obama3.jpg"):
        face = faces.face_single(photo)
        (expected,) = dlib_model.compute_face_descriptor([_chips(photo)[0]])
        assert faces.descriptor_distance(faces.face_descriptor(photo, face), np.asarray(expected)) <= TOLERANCE


def test_a_chip_gets_the_same_descriptor_alone_as_in_a_batch(session, face_chips):
    batch = descriptor_net.descriptors(face_chips[:5], session)
    alone = np.concatenate([descriptor_net.descriptors([chip], session) for chip in face_chips[:5]])
    assert np.abs(batch - alone).max() <= 1e-6


def test_no_chips_give_no_descriptors(session):
    assert descriptor_net.descriptors([], session).shape == (0, 128)


def test_a_chip_of_the_wrong_size_is_refused(session):
    with pytest.raises(InferenceError, match="150"):
        descriptor_net.descriptors([np.zeros((100, 100, 3), np.uint8)], session)


@pytest.fixture(scope="session")
def model_bytes() -> bytes:
    return MODEL_PATH.read_bytes()


@pytest.mark.parametrize("kept", [0, 1, 20, 300, 5_000, 1_000_000, -1])
def test_a_truncated_model_file_is_refused_saying_it_ends_early(model_bytes, tmp_path, kept):
    path = tmp_path / "truncated.dat"
    path.write_bytes(model_bytes[:kept])
    with pytest.raises(InferenceError, match="ends early") as refused:
        descriptor_net.net_read(path)
    assert refused.value.code == "engine_unavailable"
    assert str(path) in str(refused.value)


def test_another_dlib_model_file_is_refused_saying_what_was_found():
    path = MODEL_PATH.parent / "shape_predictor_5_face_landmarks.dat"
    with pytest.raises(InferenceError, match="not dlib's face-descriptor network"):
        descriptor_net.net_read(path)


def test_a_file_of_random_bytes_is_refused():
    with pytest.raises(InferenceError, match="at byte"):
        descriptor_net.net_parse(np.random.default_rng(0).integers(0, 256, 10_000, dtype=np.uint8).tobytes())


def test_a_damaged_layer_is_refused_naming_the_layer_expected(model_bytes):
    # The first layer's details ("con_4", its weights, ...) follow the input layer's; name it another layer.
    start = model_bytes.index(b"con_4")
    damaged = model_bytes[:start] + b"relu_" + model_bytes[start + 5 :]
    with pytest.raises(InferenceError, match="expected the con layer .*found 'relu_'"):
        descriptor_net.net_parse(damaged)


def test_a_missing_model_file_is_refused(tmp_path):
    with pytest.raises(InferenceError, match="cannot read"):
        descriptor_net.net_read(tmp_path / "absent.dat")
