"""The streamed render path: stages overlap in threads, memory stays flat with length, the rig round-trips through its
cache form."""

import threading
import time
import tracemalloc

import numpy as np
import pytest

from inference import media
from inference.animation import animate, frame_count, render_frame
from inference.pipeline import opencv_on_one_thread, run_ahead, run_beside
from inference.rig import portrait_rig, rig_from_bytes, rig_to_bytes
from inference.speech import synthesize


def test_run_ahead_keeps_order_and_runs_in_another_thread():
    producers = set()

    def numbers():
        for number in range(50):
            producers.add(threading.get_ident())
            yield number

    assert list(run_ahead(numbers(), depth=3)) == list(range(50))
    assert producers and threading.get_ident() not in producers


def test_run_ahead_raises_the_producers_error_where_its_item_would_come():
    def failing():
        yield 1
        yield 2
        raise RuntimeError("the warp failed")

    received = []
    with pytest.raises(RuntimeError, match="the warp failed"):
        for item in run_ahead(failing()):
            received.append(item)
    assert received == [1, 2]


def test_run_ahead_stops_its_producer_when_the_consumer_stops():
    produced = []

    def endless():
        while True:
            produced.append(len(produced))
            yield produced[-1]

    stream = run_ahead(endless(), depth=2)
    assert [next(stream) for _ in range(5)] == [0, 1, 2, 3, 4]
    stream.close()
    settled = len(produced)
    time.sleep(0.3)
    assert len(produced) == settled <= 5 + 2 + 1  # at most depth ahead, plus the item in hand
    assert not any(thread.name == "candor-run-ahead" and thread.is_alive() for thread in threading.enumerate())


def test_run_beside_returns_the_works_result_and_calls_on_wait_in_the_callers_thread_meanwhile():
    waits, workers = [], []

    def slow():
        workers.append(threading.get_ident())
        time.sleep(0.35)
        return "read"

    assert run_beside(slow, name="test-work", on_wait=lambda: waits.append(threading.get_ident()), wait_s=0.1) == "read"
    assert 2 <= len(waits) <= 4 and set(waits) == {threading.get_ident()} != set(workers)


def test_run_beside_raises_the_works_error_and_on_waits_error_stops_the_waiting():
    def failing():
        raise TimeoutError("the voice timed out")

    with pytest.raises(TimeoutError, match="the voice timed out"):
        run_beside(failing, name="test-work", wait_s=0.05)

    def cancelled():
        raise RuntimeError("consent revoked")

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="consent revoked"):
        run_beside(lambda: time.sleep(2.0), name="test-work", on_wait=cancelled, wait_s=0.05)
    assert time.monotonic() - started < 1.0


def test_a_rig_read_back_from_its_cache_form_renders_identical_frames(astronaut, grace_hopper):
    for photo in (astronaut, grace_hopper):  # parted lips and closed lips
        rig = portrait_rig(photo)
        copy = rig_from_bytes(rig_to_bytes(rig))
        assert copy is not None and copy.lips_parted == rig.lips_parted and copy.roi == rig.roi
        pose = {
            "jaw_open": 0.8,
            "lip_round": 0.3,
            "smile": 0.5,
            "brow_raise": 0.4,
            "blink_left": 0.6,
            "blink_right": 0.6,
            "head_yaw": 2.5,
            "head_nod": -1.0,
        }
        assert np.array_equal(render_frame(copy, pose), render_frame(rig, pose))
        assert not copy.fields.flags.writeable


def test_a_damaged_or_outdated_rig_cache_is_rejected_so_that_the_rig_is_rebuilt(astronaut, monkeypatch):
    rig = portrait_rig(astronaut)
    stored = rig_to_bytes(rig)
    assert rig_from_bytes(stored[: len(stored) // 2]) is None
    assert rig_from_bytes(b"not an archive") is None
    monkeypatch.setattr("inference.rig.storage.RIG_FORMAT", "candor-rig-older")
    assert rig_from_bytes(stored) is None


def _render_peak_mib(rig, spoken, seconds: float, folder) -> float:
    """Peak Python-heap memory (MiB) of animating and encoding `seconds` of the speech, frames streamed."""
    repeats = int(np.ceil(seconds * spoken.sample_rate / spoken.audio.size))
    audio = np.tile(spoken.audio, repeats)[: int(seconds * spoken.sample_rate)]
    tracemalloc.start()
    try:
        frames = run_ahead(animate(rig.image, audio, spoken.sample_rate, rig=rig))
        media.mp4_write(folder / f"{seconds}.mp4", frames, audio, spoken.sample_rate)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_length_of_the_video(astronaut, tmp_path):
    rig = portrait_rig(astronaut)
    spoken = synthesize("Every piece is made by hand and shipped within two days.", "en")
    short, long = _render_peak_mib(rig, spoken, 4.0, tmp_path), _render_peak_mib(rig, spoken, 24.0, tmp_path)
    frames_held_mib = frame_count(int(20 * spoken.sample_rate), spoken.sample_rate, 25) * rig.image.nbytes / 2**20
    # 20 s more audio and its analysis cost about 35 MiB; holding the 500 extra frames would cost 375 MiB more.
    assert long - short < 60 < frames_held_mib, (short, long)
    assert media.video_probe(tmp_path / "24.0.mp4").frame_count == frame_count(
        int(24 * spoken.sample_rate), spoken.sample_rate, 25
    )


def test_run_ahead_calls_on_wait_while_the_producer_is_busy_and_stops_when_it_raises():
    def slow():
        time.sleep(0.5)
        yield "first"

    waits = []
    assert list(run_ahead(slow(), on_wait=lambda: waits.append(time.monotonic()), wait_s=0.1)) == ["first"]
    assert len(waits) >= 3

    class Withdrawn(Exception):
        pass

    def withdraw():
        raise Withdrawn()

    with pytest.raises(Withdrawn):
        list(run_ahead(slow(), on_wait=withdraw, wait_s=0.1))


def test_opencv_runs_on_one_thread_inside_a_pipeline_and_as_before_after_it():
    import cv2

    cv2.setNumThreads(2)
    with opencv_on_one_thread():
        assert cv2.getNumThreads() == 1
    assert cv2.getNumThreads() == 2
    with pytest.raises(RuntimeError), opencv_on_one_thread():
        raise RuntimeError("the render failed")
    assert cv2.getNumThreads() == 2
