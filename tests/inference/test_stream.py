"""Live mode: frames come out at most 200 ms of audio after their time, whatever the chunks, close to the offline
animation."""

import subprocess
import sys

import numpy as np
import pytest

import inference
from inference.animation import animate, frame_count
from inference.errors import InferenceError
from inference.media import audio_resample
from inference.rig import portrait_rig
from inference.speech import synthesize
from inference.streaming import LOOKAHEAD_S

RATE = 16000
FPS = 25
# The requirement: a frame may wait for at most this much audio beyond its own time.
MAX_ADDED_LATENCY_S = 0.2


@pytest.fixture(scope="module")
def rig(astronaut):
    return portrait_rig(astronaut)


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    spoken = synthesize("Maybe the big brown bear will come back. Hello there, nice to meet you.", "en")
    return audio_resample(spoken.audio, spoken.sample_rate, RATE)


class Microphone:
    """Hands out audio in chunks of a given size and remembers how many samples it has handed out so far."""

    def __init__(self, audio: np.ndarray, chunk: int):
        self.audio, self.chunk = audio, chunk
        self.handed_out = 0
        self.exhausted = False

    def __iter__(self):
        for start in range(0, self.audio.size, self.chunk):
            self.handed_out = min(start + self.chunk, self.audio.size)
            yield self.audio[start : start + self.chunk]
        self.exhausted = True


def test_each_frame_waits_for_at_most_200_ms_of_audio_beyond_its_time(rig, speech):
    audio = speech[: 2 * RATE]
    for chunk_s in (1 / RATE, 0.01, 0.03):
        microphone = Microphone(audio, round(chunk_s * RATE))
        waited = []
        for frame in inference.stream(rig, microphone, RATE, fps=FPS):
            # Measured from outside: audio handed in when the frame came out, minus the frame's time.
            waited.append(microphone.handed_out / RATE - frame.time_s)
            assert frame.heard_s <= microphone.handed_out / RATE
        assert max(waited) <= MAX_ADDED_LATENCY_S
        # Frames come out as soon as their audio is in, not later: the wait never exceeds the chunk it arrived in.
        assert max(waited) <= LOOKAHEAD_S + chunk_s + 1e-9
        if chunk_s == 1 / RATE:
            assert max(waited) == pytest.approx(LOOKAHEAD_S)


def test_the_chunk_sizes_do_not_change_the_frames(rig, speech):
    audio = speech[: round(1.3 * RATE)]
    one_sample, ten_ms, one_second = (
        [frame.image for frame in inference.stream(rig, Microphone(audio, size), RATE, fps=FPS, seed=4)]
        for size in (1, RATE // 100, RATE)
    )
    assert len(one_sample) == len(ten_ms) == len(one_second) == frame_count(audio.size, RATE, FPS)
    assert all(
        np.array_equal(a, b) and np.array_equal(a, c) for a, b, c in zip(one_sample, ten_ms, one_second, strict=False)
    )


@pytest.mark.parametrize("seconds", [0.01, 0.1, 0.5, 1.02])
def test_the_end_of_the_stream_flushes_the_frames_still_owed(rig, speech, seconds):
    audio = speech[: round(seconds * RATE)]
    microphone = Microphone(audio, RATE // 50)
    after_the_end = []
    frames = []
    for frame in inference.stream(rig, microphone, RATE, fps=FPS):
        frames.append(frame)
        after_the_end.append(microphone.exhausted)
    assert len(frames) == frame_count(audio.size, RATE, FPS)
    assert [frame.index for frame in frames] == list(range(len(frames)))
    assert [frame.time_s for frame in frames] == [index / FPS for index in range(len(frames))]
    # The last frames (at most the 160 ms lookahead's 4) wait for audio that never comes: the end of the stream draws
    # them.
    assert after_the_end == sorted(after_the_end) and 1 <= sum(after_the_end) <= 4


def test_streamed_frames_stay_close_to_the_offline_animation_without_jumps(rig, speech):
    """Speech, a 3.5 s pause with room noise, more speech: the live window and lookahead change little."""
    noise = 0.003 * np.random.default_rng(0).standard_normal(round(3.5 * RATE))
    audio = np.concatenate([speech[: round(2.6 * RATE)], noise, speech[round(2.6 * RATE) :]]).astype(np.float32)
    offline = np.array(list(animate(rig.image, audio, RATE, fps=FPS, seed=9, rig=rig)), np.int16)
    live = np.array(
        [frame.image for frame in inference.stream(rig, Microphone(audio, RATE // 50), RATE, fps=FPS, seed=9)], np.int16
    )
    assert live.shape == offline.shape
    difference = np.abs(live - offline).mean(axis=(1, 2, 3))  # per frame, in 8-bit levels
    assert difference.mean() < 0.5 and difference.max() < 1.5
    # Motion only a later chunk revealed is eased in: frame-to-frame changes stay those of the offline video.
    live_steps = np.abs(np.diff(live, axis=0)).mean(axis=(1, 2, 3))
    offline_steps = np.abs(np.diff(offline, axis=0)).mean(axis=(1, 2, 3))
    assert live_steps.max() <= 1.25 * offline_steps.max()


def test_the_frame_filter_sees_every_frame_before_it_is_yielded(rig, speech):
    seen = []

    def stamped(frame):
        seen.append(frame.shape)
        marked = frame.copy()
        marked[:8, :8] = (255, 0, 255)
        return marked

    frames = list(inference.stream(rig, Microphone(speech[:RATE], 800), RATE, fps=FPS, frame_filter=stamped))
    assert len(seen) == len(frames) == FPS
    assert all((frame.image[:8, :8] == (255, 0, 255)).all() for frame in frames)


@pytest.mark.parametrize(
    ("chunks", "message"),
    [
        ([np.zeros((800, 2), np.float32)], "mono floating-point"),
        ([np.zeros(800, np.int16)], "mono floating-point"),
        ([[0.0] * 800], "mono floating-point"),
        ([np.zeros(800, np.float32), np.array([0.1, np.nan], np.float32)], "NaN or infinite"),
        ([np.array([np.inf], np.float64)], "NaN or infinite"),
        ([], "ended before any audio"),
        ([np.zeros(0, np.float32)], "ended before any audio"),
    ],
)
def test_bad_audio_is_refused_with_a_message(rig, chunks, message):
    with pytest.raises(InferenceError, match=message):
        list(inference.stream(rig, iter(chunks), RATE, fps=FPS))


def unread_audio():
    pytest.fail("the audio was read")
    yield


def test_bad_arguments_are_refused_before_any_audio_is_read(rig):
    never_read = unread_audio()
    with pytest.raises(InferenceError, match="sample rate"):
        inference.stream(rig, never_read, 0)
    with pytest.raises(InferenceError, match="fps"):
        inference.stream(rig, never_read, RATE, fps=0)
    with pytest.raises(InferenceError, match="expression must be one of"):
        inference.stream(rig, never_read, RATE, expression="grumpy")


def test_a_photo_without_a_face_is_refused_before_any_audio_is_read(no_face_jpeg):
    from inference.media import image_decode

    with pytest.raises(InferenceError, match="no face"):
        inference.stream(image_decode(no_face_jpeg), unread_audio(), RATE)


def test_importing_the_engine_for_its_stream_loads_neither_django_nor_opencv():
    code = "import sys, inference; print(callable(inference.stream), 'django' in sys.modules, 'cv2' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.split() == ["True", "False", "False"]
