"""Candor's own watermark on real renders: it survives what social networks do to a video, and nobody else can forge
it.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from benchmarks.video_transforms import center_crop, frame_rate_changed, h264_round_trip, levels, psnr, resized
from provenance import bch
from provenance.watermark import FrameWatermarker, key_id, payload_bits, watermark_read

KEY = b"candor-test-key-0123456789abcdef"
OLD_KEY = b"candor-retired-key-0123456789abc"
SERIAL = 3_141_592_653


@pytest.fixture(scope="module")
def rendered(astronaut) -> list[np.ndarray]:
    """Two seconds of a real Candor animation of a portrait: nearly static, mouth and eyes moving."""
    from inference import animate, speech

    spoken = speech.synthesize("Hello there, nice to meet you.", "en")
    return list(animate(astronaut, spoken.audio, spoken.sample_rate, phonemes=list(spoken.phonemes), max_side=512))[:50]


@pytest.fixture(scope="module")
def marked(rendered) -> list[np.ndarray]:
    watermarker = FrameWatermarker(SERIAL, KEY)
    return [watermarker.mark(frame) for frame in rendered]


@pytest.fixture(scope="module")
def published(marked) -> list[np.ndarray]:
    """The render as Candor publishes it (H.264 at CRF 20, preset veryfast, like inference.media.mp4_write)."""
    return h264_round_trip(marked, crf=20, preset="veryfast")


def test_payload_is_serial_key_id_and_a_keyed_mac():
    bits = payload_bits(SERIAL, KEY)
    assert bits.dtype == np.uint8 and bits.shape == (64,)
    assert int.from_bytes(np.packbits(bits[:32]).tobytes(), "big") == SERIAL
    assert int(np.packbits(bits[32:40])[0]) == key_id(KEY)
    assert not np.array_equal(bits[40:], payload_bits(SERIAL, b"another key")[40:])
    assert not np.array_equal(bits[40:], payload_bits(SERIAL + 1, KEY)[40:])


def test_bch_corrects_up_to_ten_errors_and_soft_decoding_goes_further():
    rng = np.random.default_rng(3)
    message = rng.integers(0, 2, 64).astype(np.uint8)
    codeword = bch.encode(message)
    assert codeword.shape == (127,) and np.array_equal(codeword[:64], message)
    ten_wrong = codeword.copy()
    ten_wrong[rng.choice(127, 10, replace=False)] ^= 1
    assert np.array_equal(bch.decode(ten_wrong)[0], message)
    assert bch.decode(ten_wrong)[1] == 10

    soft = (2.0 * codeword - 1) + rng.normal(0, 0.75, 127)
    hard_errors = int(np.count_nonzero((soft > 0) != codeword))
    assert hard_errors > 10, "the case must be beyond hard-decision decoding"
    assert bch.decode((soft > 0).astype(np.uint8)) is None or not np.array_equal(
        bch.decode((soft > 0).astype(np.uint8))[0], message
    )
    assert np.array_equal(bch.decode_soft(soft)[0], message)


def test_marking_is_invisible_by_psnr_and_keeps_shape(rendered, marked):
    assert all(m.shape == f.shape and m.dtype == np.uint8 for f, m in zip(rendered, marked, strict=False))
    assert min(psnr(f, m) for f, m in zip(rendered, marked, strict=False)) >= 40.0


def test_the_published_render_reads_back_its_serial_after_a_few_frames(published):
    reading = watermark_read(published, KEY)
    assert (reading.found, reading.serial, reading.key_id) == (True, SERIAL, key_id(KEY))
    assert reading.frames_examined <= 10
    assert reading.scale == 1.0 and reading.mirrored is False


@pytest.mark.parametrize(
    "attack",
    [
        pytest.param(lambda f: h264_round_trip(f, crf=23), id="crf23"),
        pytest.param(lambda f: h264_round_trip(f, crf=28), id="crf28"),
        pytest.param(lambda f: h264_round_trip(f, crf=35), id="crf35"),
        pytest.param(lambda f: h264_round_trip(resized(f, 0.5), crf=23), id="downscale-50"),
        pytest.param(lambda f: h264_round_trip(resized(f, 0.25), crf=23), id="downscale-25"),
        pytest.param(lambda f: h264_round_trip(center_crop(f, 0.8), crf=23), id="center-crop-80"),
        pytest.param(lambda f: h264_round_trip(levels(f, offset=0.2 * 128), crf=23), id="brighter-20"),
        pytest.param(lambda f: h264_round_trip(levels(f, offset=-0.2 * 128), crf=23), id="darker-20"),
        pytest.param(lambda f: h264_round_trip(levels(f, gain=1.2), crf=23), id="contrast-up-20"),
        pytest.param(lambda f: h264_round_trip(levels(f, gain=0.8), crf=23), id="contrast-down-20"),
        pytest.param(lambda f: h264_round_trip(frame_rate_changed(f), crf=23, fps=30), id="25-to-30-fps"),
        pytest.param(lambda f: h264_round_trip(f[-25:], crf=23), id="last-second-excerpt"),
        pytest.param(lambda f: h264_round_trip([frame[:, ::-1] for frame in f], crf=23), id="mirrored"),
        pytest.param(lambda f: h264_round_trip(resized(f, 0.5), crf=35), id="crf35-and-downscale-50"),
        pytest.param(
            lambda f: h264_round_trip(resized(center_crop(f, 0.8), 0.5), crf=23), id="center-crop-80-then-downscale-50"
        ),
    ],
)
def test_the_payload_survives(published, attack):
    copy = attack(published)
    reading = watermark_read(copy, KEY)
    assert reading.found, "payload not recovered"
    assert reading.serial == SERIAL


def test_a_quarter_size_copy_of_the_grace_hopper_render_keeps_its_payload(grace_hopper):
    from inference import animate, speech

    spoken = speech.synthesize("Hello there, nice to meet you.", "en")
    frames = list(
        animate(grace_hopper, spoken.audio, spoken.sample_rate, phonemes=list(spoken.phonemes), max_side=512)
    )[:40]
    watermarker = FrameWatermarker(99, KEY)
    published = h264_round_trip([watermarker.mark(frame) for frame in frames], crf=20, preset="veryfast")
    reading = watermark_read(h264_round_trip(resized(published, 0.25), crf=23), KEY)
    assert (reading.found, reading.serial, reading.scale) == (True, 99, 0.25)


def test_a_downscaled_copy_reports_its_scale(published):
    reading = watermark_read(h264_round_trip(resized(published, 0.5), crf=23), KEY)
    assert reading.found and reading.scale == 0.5


def test_a_non_square_portrait_round_trips(grace_hopper):
    height, width = grace_hopper.shape[:2]
    scale = 512 / max(height, width)
    portrait = cv2.resize(grace_hopper, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    watermarker = FrameWatermarker(7, KEY)
    marked = [watermarker.mark(portrait) for _ in range(6)]
    assert psnr(portrait, marked[0]) >= 40.0
    reading = watermark_read(h264_round_trip(marked, crf=28), KEY)
    assert (reading.found, reading.serial) == (True, 7)


def test_a_different_key_finds_nothing(published):
    reading = watermark_read(published[:10], b"someone else's key")
    assert not reading.found and reading.serial is None and reading.bit_errors is None
    assert reading.frames_examined == 10


def test_a_payload_forged_without_the_key_is_refused(rendered):
    forger = FrameWatermarker(SERIAL, b"guessed key")
    forged = [forger.mark(frame) for frame in rendered[:10]]
    assert watermark_read(forged, b"guessed key").serial == SERIAL, "the forger's own mark is well formed"
    assert not watermark_read(forged, KEY).found


def test_a_rotated_out_key_is_still_read_and_named(rendered):
    old_marker = FrameWatermarker(11, OLD_KEY)
    old_video = [old_marker.mark(frame) for frame in rendered[:8]]
    reading = watermark_read(old_video, [KEY, OLD_KEY])
    assert (reading.found, reading.serial, reading.key_id) == (True, 11, key_id(OLD_KEY))


def test_unrelated_pictures_never_yield_a_payload(rendered, grace_hopper):
    import skimage.data

    rng = np.random.default_rng(0)
    pictures = [rendered[0], grace_hopper, rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)]
    for name in ("coffee", "chelsea", "rocket", "astronaut", "immunohistochemistry", "camera", "brick", "moon"):
        image = getattr(skimage.data, name)()
        pictures.append(image if image.ndim == 3 else np.stack([image] * 3, axis=-1))
    for picture in pictures:
        for copy in (picture, picture[::2, ::2], picture[: picture.shape[0] * 3 // 4, picture.shape[1] // 5 :]):
            assert not watermark_read([copy], KEY).found


def test_reading_stops_early_once_the_payload_is_valid(published):
    consumed = []

    def stream():
        for frame in published:
            consumed.append(frame)
            yield frame

    reading = watermark_read(stream(), KEY)
    assert reading.found and len(consumed) == reading.frames_examined < len(published)


def test_unusable_frames_are_skipped_without_raising(published):
    odd = [
        np.zeros((50, 50, 3), np.uint8),  # too small
        np.ones((512, 512, 3), np.float32),  # not 8-bit
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((512, 512, 2), np.uint8),
    ]
    assert watermark_read(odd, KEY) == watermark_read([], KEY)
    assert watermark_read(odd, KEY).frames_examined == 0
    reading = watermark_read(odd + published[:4], KEY)
    assert (reading.found, reading.serial, reading.frames_examined) == (True, SERIAL, 4)


def test_max_frames_bounds_the_frames_examined(rendered):
    assert watermark_read(rendered, KEY, max_frames=3).frames_examined == 3


def test_out_of_range_serials_empty_keys_small_or_changing_frames_are_refused(rendered):
    with pytest.raises(ValueError):
        payload_bits(2**32, KEY)
    with pytest.raises(ValueError):
        payload_bits(-1, KEY)
    with pytest.raises(ValueError):
        FrameWatermarker(1, b"")
    with pytest.raises(ValueError):
        watermark_read([], b"")
    with pytest.raises(ValueError):
        watermark_read([], [])
    with pytest.raises(ValueError):
        FrameWatermarker(1, KEY).mark(np.zeros((127, 512, 3), np.uint8))
    watermarker = FrameWatermarker(1, KEY)
    watermarker.mark(rendered[0])
    with pytest.raises(ValueError):
        watermarker.mark(rendered[0][:256])


def test_reading_a_capture_without_the_mark_allocates_little_beyond_its_frames(astronaut):
    """The reader folds each candidate scale's resampled mean into one period: a capture's analysis child reads ten
    frames for the mark, and where a scale enlarges them, padded float64 copies of the mean and of its count had it
    allocate 57 MB at its peak here instead of 15.
    """
    import tracemalloc

    frame = cv2.resize(astronaut, (480, 360), interpolation=cv2.INTER_AREA)
    frames = [np.roll(frame, shift, axis=1) for shift in range(10)]
    tracemalloc.start()
    try:
        reading = watermark_read(frames, KEY, max_frames=10, attempt_at=(10,))
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    assert not reading.found
    assert peak_mb < 25, peak_mb
