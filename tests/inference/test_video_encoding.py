"""The MP4 encoder's input: frames converted to 4:2:0 as libswscale would (but faster), on the encoding thread."""

import av
import cv2
import numpy as np
import pytest
from av.video.reformatter import VideoReformatter

from inference import media
from inference.errors import InferenceError
from tests.helpers import threads_running


def _swscale_planes(frame: np.ndarray, interpolation: str) -> np.ndarray:
    converted = VideoReformatter().reformat(
        av.VideoFrame.from_ndarray(frame, format="rgb24"), format="yuv420p", interpolation=interpolation
    )
    return converted.to_ndarray()


def _planes(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    height, width = frame.shape[0] * 2 // 3, frame.shape[1]
    flat = frame.astype(int).reshape(-1)
    luma_size, chroma_size = height * width, height * width // 4
    luma = flat[:luma_size].reshape(height, width)
    blue = flat[luma_size : luma_size + chroma_size].reshape(height // 2, width // 2)
    red = flat[luma_size + chroma_size :].reshape(height // 2, width // 2)
    return luma, blue, red


# 64 x 64, and 54 x 96 (16:9; its chroma planes have an odd number of rows, 27).
@pytest.mark.parametrize("shape", [(64, 64), (54, 96)])
def test_frames_are_converted_to_video_range_bt601_as_libswscale_converts_them(shape):
    rng = np.random.default_rng(3)
    height, width = shape
    # Smooth colour (a face's) and one pixel in four of a strong red (an edge's): chroma must average all four.
    blocks = rng.normal(128, 40, (height // 2 + 1, width // 2 + 1, 3)).repeat(2, 0).repeat(2, 1)
    frame = np.clip(cv2.GaussianBlur(blocks, (0, 0), 3)[:height, :width], 0, 255).astype(np.uint8)
    frame[0::2, 0::2] = (230, 20, 20)
    ours = _planes(media.video_frame_i420(frame).to_ndarray())
    averaged = _planes(_swscale_planes(frame, "AREA"))
    assert np.abs(ours[0] - averaged[0]).max() <= 1
    for mine, theirs in zip(ours[1:], averaged[1:], strict=True):
        assert np.abs(mine - theirs).max() <= 2
    # Taking one pixel of each 2x2 for chroma (OpenCV's own 4:2:0 conversion) would be far off on this frame.
    point = _planes(_swscale_planes(frame, "POINT"))
    assert max(np.abs(mine - theirs).mean() for mine, theirs in zip(ours[1:], point[1:], strict=True)) > 10


def test_an_encoded_video_decodes_to_the_colours_it_was_given(tmp_path):
    colours = np.array([(200, 40, 40), (40, 180, 60), (30, 60, 200), (235, 225, 210), (20, 20, 20), (128, 128, 128)])
    frame = np.repeat(colours[None, :, :], 96, axis=0).repeat(32, axis=1).astype(np.uint8)  # 96 x 192 bars
    media.mp4_write(tmp_path / "bars.mp4", [frame] * 5, np.zeros(16_000, dtype=np.float32), 16_000)
    with av.open(str(tmp_path / "bars.mp4")) as container:
        decoded = next(container.decode(video=0)).to_ndarray(format="rgb24")
    centres = decoded[48, 16::32].astype(int)
    assert np.abs(centres - colours).max() <= 6, centres


def test_frames_with_an_odd_side_are_refused_with_a_reason(tmp_path):
    with pytest.raises(InferenceError) as error:
        media.mp4_write(tmp_path / "odd.mp4", [np.zeros((101, 100, 3), np.uint8)], np.zeros(1600, np.float32), 16_000)
    assert error.value.code == "invalid_frames" and "even" in error.value.detail
    assert not list(tmp_path.iterdir())


def test_the_encoder_runs_on_the_calling_thread_alone(tmp_path):
    """A render overlaps the encoder with the thread making its frames; x264's own threads on top of that cost
    processor time and saved no wall time (docs/engine.md, Speed)."""
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (256, 256, 3), dtype=np.uint8) for _ in range(40)]
    # No sound, so that only the video's threads could show (the audio encoder starts two of its own).
    audio = np.zeros(0, dtype=np.float32)
    media.video_frame_i420(frames[0])  # OpenCV's pool, where it has one, is started before counting
    before, during = threads_running(), []
    media.mp4_write(tmp_path / "a.mp4", frames, audio, 16_000, on_frame=lambda _index: during.append(threads_running()))
    assert len(during) == 40 and max(during) == before
    assert media.video_probe(tmp_path / "a.mp4").frame_count == 40
