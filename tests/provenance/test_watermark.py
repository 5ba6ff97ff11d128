"""Tests for Candor's keyed per-frame invisible watermark."""

import io

import av
import cv2
import numpy as np
import pytest
from matplotlib.cbook import get_sample_data
from skimage.data import astronaut

from provenance.watermark import FrameWatermarker, payload_bits, watermark_read

KEY = b"candor-test-key-0123456789abcdef"
SERIAL = 3_141_592_653


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def video_like(image: np.ndarray, count: int) -> list[np.ndarray]:
    """Frames like a talking head: the central region moves a few px, brightness flickers."""
    rng = np.random.default_rng(7)
    height, width = image.shape[:2]
    top, left, bottom, right = height // 4, width // 4, 3 * height // 4, 3 * width // 4
    frames = []
    for _ in range(count):
        dy, dx = rng.integers(-3, 4, size=2)
        frame = image.astype(np.int16)
        frame[top:bottom, left:right] = image[top + dy : bottom + dy, left + dx : right + dx]
        frames.append(np.clip(frame + int(rng.integers(-6, 7)), 0, 255).astype(np.uint8))
    return frames


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return video_like(astronaut(), 10)


@pytest.fixture(scope="module")
def marked(frames) -> list[np.ndarray]:
    watermarker = FrameWatermarker(SERIAL, KEY)
    return [watermarker.mark(frame) for frame in frames]


def h264_round_trip(frames: list[np.ndarray], crf: int) -> list[np.ndarray]:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf)}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    buffer.seek(0)
    with av.open(buffer) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_payload_is_the_serial_followed_by_a_keyed_check():
    bits = payload_bits(SERIAL, KEY)
    assert bits.dtype == np.uint8 and bits.shape == (64,)
    assert set(np.unique(bits)) <= {0, 1}
    assert int.from_bytes(np.packbits(bits[:32]).tobytes(), "big") == SERIAL
    assert not np.array_equal(bits[32:], payload_bits(SERIAL, b"another key")[32:])


def test_marked_frames_read_back_their_serial(marked):
    reading = watermark_read(marked, KEY)
    assert reading.found
    assert reading.serial == SERIAL
    assert reading.bit_errors == 0
    assert reading.frames_examined == 5


def test_marking_keeps_the_frame_shape_and_psnr_at_least_35_db(frames, marked):
    assert all(m.shape == f.shape and m.dtype == np.uint8 for f, m in zip(frames, marked))
    assert min(psnr(f, m) for f, m in zip(frames, marked)) >= 35.0


def test_saturated_reds_keep_their_colour(frames):
    frame = frames[0].copy()
    frame[:128, :128] = (255, 0, 0)  # outside the gamut of imwatermark's uint8 YUV round trip
    marked = FrameWatermarker(SERIAL, KEY).mark(frame)
    mean_colour = marked[:128, :128].reshape(-1, 3).mean(axis=0)
    assert np.abs(mean_colour - (255, 0, 0)).max() <= 8


def test_a_different_key_does_not_find_the_payload(marked):
    reading = watermark_read(marked, b"someone else's key")
    assert not reading.found
    assert reading.serial is None and reading.bit_errors is None
    assert reading.frames_examined == len(marked)


def test_unmarked_frames_do_not_find_a_payload(frames):
    assert not watermark_read(frames, KEY).found


def test_a_payload_forged_without_the_key_is_rejected(frames):
    forger = FrameWatermarker(SERIAL, b"guessed key")
    forged = [forger.mark(frame) for frame in frames[:5]]
    assert watermark_read(forged, b"guessed key").serial == SERIAL
    assert not watermark_read(forged, KEY).found


def test_the_mark_survives_an_h264_re_encode_at_crf_28(marked):
    decoded = h264_round_trip(marked, crf=28)
    assert len(decoded) == len(marked)
    reading = watermark_read(decoded, KEY)
    assert reading.found
    assert reading.serial == SERIAL
    assert reading.bit_errors <= 8


def test_a_non_square_portrait_round_trips():
    image = cv2.imread(get_sample_data("grace_hopper.jpg", asfileobj=False))[..., ::-1]
    height, width = image.shape[:2]
    scale = 512 / max(height, width)
    portrait = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    assert portrait.shape[:2] == (512, 437)
    watermarker = FrameWatermarker(7, KEY)
    marked = [watermarker.mark(frame) for frame in video_like(portrait, 3)]
    reading = watermark_read(marked, KEY)
    assert (reading.found, reading.serial, reading.frames_examined) == (True, 7, 3)


def test_reading_stops_early_once_the_payload_is_valid(marked):
    consumed = []

    def stream():
        for frame in marked * 4:
            consumed.append(frame)
            yield frame

    reading = watermark_read(stream(), KEY)
    assert reading.found and reading.frames_examined == 5
    assert len(consumed) == 5


def test_unusable_frames_are_skipped_without_raising(marked):
    odd = [
        np.zeros((512, 512), np.uint8),  # gray
        np.zeros((100, 100, 3), np.uint8),  # too small
        np.zeros((200, 900, 3), np.uint8),  # one side too small
        np.ones((512, 512, 3), np.float32),  # not 8-bit
        np.zeros((0, 0, 3), np.uint8),
    ]
    assert watermark_read(odd, KEY) == watermark_read([], KEY)
    assert not watermark_read(odd, KEY).found
    assert watermark_read(odd, KEY).frames_examined == 0
    reading = watermark_read(odd + marked[:1], KEY)
    assert (reading.found, reading.serial, reading.frames_examined) == (True, SERIAL, 1)
    huge = watermark_read([np.zeros((1080, 1920, 3), np.uint8)], KEY)
    assert (huge.found, huge.frames_examined) == (False, 1)


def test_max_frames_bounds_the_frames_examined(frames):
    assert watermark_read(frames, KEY, max_frames=3).frames_examined == 3


def test_serials_beyond_32_bits_empty_keys_and_small_frames_are_refused():
    with pytest.raises(ValueError):
        payload_bits(2**32, KEY)
    with pytest.raises(ValueError):
        payload_bits(-1, KEY)
    with pytest.raises(ValueError):
        FrameWatermarker(1, b"")
    with pytest.raises(ValueError):
        watermark_read([], b"")
    with pytest.raises(ValueError):
        FrameWatermarker(1, KEY).mark(np.zeros((255, 512, 3), np.uint8))
