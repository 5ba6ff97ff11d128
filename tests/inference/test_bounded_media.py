"""Untrusted video is bounded: its header is checked before decoding, the decoder stops at the limits whatever the
header said, and an analysis that exceeds its CPU or memory budget is stopped by the kernel.
"""

from __future__ import annotations

import gc
import io
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from inference import media, sandbox
from inference.errors import InferenceError
from tests.helpers import threads_running

LIMITS = media.VideoLimits(
    max_long_side=1920, max_short_side=1080, max_duration_s=15.0, max_fps=60.0, codecs=frozenset({"h264"})
)


def _video(*, width: int, height: int, frames: int, fps: int = 15, codec: str = "libx264") -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        gradient = np.tile(np.linspace(0, 255, width, dtype=np.uint8), (height, 1))
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(np.dstack([gradient, gradient, np.roll(gradient, index, 1)]), "rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def test_the_header_is_read_without_decoding_and_checked_against_the_limits():
    header = media.video_header(_video(width=640, height=360, frames=30))
    assert (header.width, header.height, header.codec, header.has_audio) == (640, 360, "h264", False)
    assert header.fps == pytest.approx(15) and header.duration_s == pytest.approx(2.0, abs=0.1)
    media.video_check(header, LIMITS)
    portrait_1080 = media.VideoHeader(1080, 1920, 5.0, 30.0, "h264", True)
    media.video_check(portrait_1080, LIMITS)
    for refused, words in (
        (media.VideoHeader(1922, 1080, 5.0, 30.0, "h264", True), "1922x1080"),
        (media.VideoHeader(1920, 1082, 5.0, 30.0, "h264", True), "1920x1082"),
        (media.VideoHeader(640, 480, 15.1, 30.0, "h264", True), "shorter than 15"),
        (media.VideoHeader(640, 480, 5.0, 61.0, "h264", True), "61 frames"),
        (media.VideoHeader(640, 480, 5.0, 30.0, "prores", True), "prores"),
    ):
        with pytest.raises(InferenceError, match=words):
            media.video_check(refused, LIMITS)


def test_a_video_track_in_an_unknown_codec_is_refused_as_unreadable_from_the_header():
    # FFmpeg gives such a stream no codec context at all; the fuzzer found it as a 500 on the verifier.
    unknown_codec = _video(width=64, height=64, frames=5).replace(b"avc1", b"zzzz")
    with pytest.raises(InferenceError, match="no codec that can be read") as refusal:
        media.video_header(unknown_codec)
    assert refusal.value.code == "invalid_video"


def test_the_bounded_decoder_scales_keeps_only_the_analysed_frames_and_stops_at_the_limits():
    clip = _video(width=1280, height=720, frames=45, fps=30)
    frames = list(media.video_frames_bounded(clip, limits=LIMITS, fps=15, max_side=640))
    assert len(frames) == 23 and frames[0][1].shape == (360, 640, 3)
    times = np.array([at for at, _frame in frames])
    assert np.diff(times[1:]) == pytest.approx(np.full(21, 1 / 15)), "one frame per 1/15 s slot"
    # The limits hold while decoding, whatever the header said: here the video is longer than allowed...
    short = media.VideoLimits(1920, 1080, max_duration_s=1.0, max_fps=60.0, codecs=frozenset({"h264"}))
    with pytest.raises(InferenceError, match="shorter than 1 seconds"):
        list(media.video_frames_bounded(clip, limits=short, fps=15, max_side=640))
    # ...has more frames than its duration allows at the highest rate...
    few = media.VideoLimits(1920, 1080, max_duration_s=1.5, max_fps=20.0, codecs=frozenset({"h264"}))
    with pytest.raises(InferenceError):
        list(media.video_frames_bounded(clip, limits=few, fps=15, max_side=640))
    # ...or larger frames than allowed.
    small = media.VideoLimits(640, 480, max_duration_s=15.0, max_fps=60.0, codecs=frozenset({"h264"}))
    with pytest.raises(InferenceError, match="1280x720"):
        list(media.video_frames_bounded(clip, limits=small, fps=15, max_side=640))


def _spin() -> int:
    total = 0
    while True:
        total += 1


def _hoard(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def _refuse() -> None:
    raise InferenceError("invalid_video", "not a video")


def test_an_analysis_beyond_its_cpu_or_memory_budget_is_stopped_and_reported_as_too_costly():
    limits = sandbox.CostLimits(cpu_s=1, memory_mb=200, wall_s=30)
    assert sandbox.run_limited(_hoard, limits=limits, megabytes=50) == 50 * 1024 * 1024
    with pytest.raises(InferenceError) as memory:
        sandbox.run_limited(_hoard, limits=limits, megabytes=400)
    started = time.monotonic()
    with pytest.raises(InferenceError) as cpu:
        sandbox.run_limited(_spin, limits=limits)
    assert time.monotonic() - started < 10, "stopped by the CPU limit, not the 30 s wall clock"
    assert memory.value.code == cpu.value.code == "too_costly"
    with pytest.raises(InferenceError, match="not a video"):
        sandbox.run_limited(_refuse, limits=limits)


def _answer() -> int:
    return 42


def test_an_analysis_forked_while_another_thread_converts_video_frames_finishes(tmp_path):
    """A forked child frees what the parent's other threads held at the fork. PyAV 18.1.1's frame scaler waits on its
    slice threads when freed, threads a fork does not copy: in a fresh install's test run, eight consent captures
    forked beside one another's decoding froze until their wall-time limit (pyproject.toml keeps PyAV below it)."""
    path = tmp_path / "clip.mp4"
    path.write_bytes(_video(width=1280, height=720, frames=30, fps=30))
    stop = threading.Event()

    def convert() -> None:
        while not stop.is_set():
            for _frame in media.video_frames(path):
                if stop.is_set():
                    return

    converter = threading.Thread(target=convert)
    converter.start()
    try:
        limits = sandbox.CostLimits(cpu_s=5, memory_mb=500, wall_s=10)
        for _ in range(30):
            assert sandbox.run_limited(_answer, limits=limits) == 42
    finally:
        stop.set()
        converter.join()


def test_the_bounded_decoder_decodes_on_the_calling_thread_alone():
    """The analysis is bounded by processor time: a decoder's thread pool adds to it (its hand-offs, its waiting on a
    busy core) and saves only wall time.
    """
    clip = _video(width=1280, height=720, frames=30, fps=30)
    before = threads_running()
    during = [threads_running() for _frame in media.video_frames_bounded(clip, limits=LIMITS, fps=15, max_side=640)]
    assert len(during) == 16 and max(during) == before


def _private_growth_mb_after_collecting() -> float:
    def private_dirty_kb() -> int:
        with open("/proc/self/smaps_rollup") as rollup:
            return sum(int(line.split()[1]) for line in rollup if line.startswith("Private_Dirty:"))

    before = private_dirty_kb()
    gc.collect()
    return (private_dirty_kb() - before) / 1024


def test_the_analysis_child_does_not_copy_the_parents_objects_when_it_collects_garbage():
    """A forked child shares its parent's pages until it writes to them; a collection that walked the parent's objects
    (a web process's heap) would write to every one, copying them all into the child's memory and spending the time.
    """
    heap = [[index] for index in range(1_000_000)]  # about 90 MB of objects the collector tracks
    limits = sandbox.CostLimits(cpu_s=5, memory_mb=200, wall_s=30)
    grown = sandbox.run_limited(_private_growth_mb_after_collecting, limits=limits)
    assert len(heap) == 1_000_000 and grown < 10, grown


def test_an_upload_is_read_only_by_the_three_image_parsers_which_are_loaded_before_any_upload():
    """Pillow opens a file with whichever of its forty-odd plugins claims it, importing them all on the first file it
    does not know: each forked analysis child did so, checking that a capture is not a photo (about 60 ms of its
    processor time), and an upload in any format Pillow reads was parsed before it was refused.
    """
    checked = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from inference import media\n"
            "from inference.errors import InferenceError\n"
            "before = set(sys.modules)\n"
            "try:\n"
            f"    media.image_decode({_video(width=64, height=64, frames=2)!r}, max_side=64)\n"
            "except InferenceError as refusal:\n"
            "    print(refusal.code, sorted(set(sys.modules) - before))\n",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert checked.stdout.strip() == "unsupported_image []", checked.stdout + checked.stderr
    tiff = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 150, 120)).save(tiff, format="TIFF")
    with pytest.raises(InferenceError, match="not a readable JPEG, PNG or WebP image"):
        media.image_decode(tiff.getvalue())


def test_a_phones_multi_picture_jpeg_is_read_as_the_jpeg_it_is():
    """Some phones write MPO: a JPEG whose first picture is the photo, followed by others. Refused before, as a format
    of its own."""
    photo = io.BytesIO()
    Image.new("RGB", (80, 60), (200, 100, 50)).save(
        photo, format="MPO", save_all=True, append_images=[Image.new("RGB", (80, 60))]
    )
    image = media.image_decode(photo.getvalue())
    assert image.shape == (60, 80, 3) and tuple(image[30, 40]) == pytest.approx((200, 100, 50), abs=3)
