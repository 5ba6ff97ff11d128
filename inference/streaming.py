"""Live mode: frames of a portrait speaking audio that arrives in chunks, each drawn once LOOKAHEAD_S of its audio is
in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, cast

import numpy as np

from .errors import InferenceError

if TYPE_CHECKING:
    from .rig import PortraitRig

# The engine's modules (OpenCV, SciPy) are imported in the functions that use
# them: the package exports stream(), and `import inference` stays light.

# A frame is drawn once the audio from its start to this much later has arrived
# (its own frame period included): the loudness window reaches two frames ahead
# and lip closures look about 100 ms further. This is the added latency.
LOOKAHEAD_S = 0.16
# The track functions normalise loudness and pick stressed syllables over the
# audio they are given: each frame's pose comes from the last seconds heard ...
_WINDOW_S = 3.0
# ... after the loudest second heard within the last _REFERENCE_MEMORY_S before
# them, so that a long pause with background noise is still judged against the
# speaker's voice rather than against itself.
_REFERENCE_MEMORY_S = 30.0
# Fastest head (degrees/s) and brow (units/s) motion, a little above what the
# offline tracks reach: a nod or lift that only a later chunk revealed (a
# stressed syllable) is eased in at this rate instead of jumped to.
_HEAD_RATE_DEG_S = 6.0
_BROW_RATE_S = 4.0


@dataclass(frozen=True)
class LiveFrame:
    """One frame of a live stream: its place in the video, the audio it waited for, and its picture."""

    index: int
    time_s: float  # presentation time, index / fps
    heard_s: float  # stream time up to which its audio had to arrive; heard_s - time_s is the added latency
    image: np.ndarray  # (H, W, 3) uint8 RGB, after the frame filter


def lookahead_frames(fps: int) -> int:
    """Frames of audio beyond a frame's start that it waits for: LOOKAHEAD_S at fps, at least the frame itself."""
    return max(1, int(LOOKAHEAD_S * fps + 1e-9))


def stream(
    portrait: PortraitRig | np.ndarray,
    audio_chunks: Iterable[np.ndarray],
    sample_rate: int,
    *,
    fps: int = 25,
    seed: int = 0,
    expression: str = "neutral",
    intensity: float = 0.5,
    max_side: int = 512,
    frame_filter: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Iterator[LiveFrame]:
    """LiveFrames of the portrait speaking mono float audio chunks (n_i,) as they arrive.

    portrait: a prebuilt PortraitRig, or an RGB uint8 (h, w, 3) photo of one person
    (rigged at max_side). Each frame is yielded as soon as the chunks hold
    lookahead_frames(fps) frame periods of audio from its start (160 ms at
    25 fps); when the chunks end, the frames still owed are flushed, for
    frame_count(total samples, sample_rate, fps) in all. The frames do not
    depend on how the audio is cut into chunks. frame_filter (frame -> frame,
    same shape) is applied to every frame before it is yielded: the caller's
    label and watermark. Arguments are checked, and the portrait rigged, before
    the first chunk is read; each chunk is checked as it arrives.
    """
    from .animation import EXPRESSIONS
    from .rig import PortraitRig, portrait_rig

    if sample_rate <= 0:
        raise InferenceError("invalid_audio", f"invalid sample rate {sample_rate}")
    if fps <= 0:
        raise InferenceError("invalid_fps", f"fps must be positive, not {fps}")
    if expression not in EXPRESSIONS:
        raise InferenceError(
            "invalid_expression", f"expression must be one of {', '.join(EXPRESSIONS)}, not {expression!r}"
        )
    if not 0.0 <= intensity <= 1.0:
        raise InferenceError("invalid_expression", f"expression intensity must be between 0 and 1, not {intensity}")
    rig = portrait if isinstance(portrait, PortraitRig) else portrait_rig(portrait, max_side=max_side)
    return _live_frames(rig, audio_chunks, sample_rate, fps, seed, expression, intensity, frame_filter)


def _live_frames(
    rig: PortraitRig,
    audio_chunks: Iterable[np.ndarray],
    sample_rate: int,
    fps: int,
    seed: int,
    expression: str,
    intensity: float,
    frame_filter: Callable[[np.ndarray], np.ndarray] | None,
) -> Iterator[LiveFrame]:
    from .animation import frame_count, render_frame
    from .rig import BLINK_PARAMETERS, HEAD_PARAMETERS, PARAMETERS

    column = {name: i for i, name in enumerate(PARAMETERS)}
    head, blink = [column[name] for name in HEAD_PARAMETERS], [column[name] for name in BLINK_PARAMETERS]
    lookahead = lookahead_frames(fps)
    window = max(round(_WINDOW_S * fps), lookahead)
    memory = round(_REFERENCE_MEMORY_S * fps)
    heard = _Heard()
    # Mean square of each whole second heard (a second is fps frames).
    loudness: list[float] = []
    idle = np.zeros((0, 1 + len(HEAD_PARAMETERS)), np.float32)
    max_step = np.full(len(PARAMETERS), np.inf, np.float32)
    max_step[head] = _HEAD_RATE_DEG_S / fps
    max_step[column["brow_raise"]] = _BROW_RATE_S / fps
    previous: np.ndarray | None = None

    def sample(frame: int) -> int:
        return round(frame * sample_rate / fps)

    def draw(index: int, last_frame: int, last_sample: int) -> LiveFrame:
        nonlocal idle, previous
        if index >= len(idle):
            idle = _idle_motion(max(2 * len(idle), index + 1, memory), fps, seed)
        first = max(0, last_frame - window)
        reference = _loudest_second(loudness, first, fps, memory)
        if reference is None:
            context, audio = 0, heard.between(sample(first), last_sample)
        else:
            context = fps
            audio = np.concatenate(
                [
                    heard.between(sample(reference * fps), sample((reference + 1) * fps)),
                    heard.between(sample(first), last_sample),
                ]
            )
        position = context + index - first
        target = _pose_at(audio, sample_rate, context + last_frame - first, position, fps, seed, expression, intensity)
        target[blink] = idle[index, 0]
        target[head] += idle[index, 1:]
        # Motion a later chunk revealed (a nod for a syllable just heard) is eased in, not jumped to.
        pose = target if previous is None else previous + np.clip(target - previous, -max_step, max_step)
        previous = pose
        heard.forget_before(sample(max(0, first - memory)))
        image = render_frame(rig, dict(zip(PARAMETERS, pose.tolist(), strict=False)))
        if frame_filter is not None:
            image = frame_filter(image)
        return LiveFrame(index=index, time_s=index / fps, heard_s=last_sample / sample_rate, image=image)

    index = 0
    for chunk in audio_chunks:
        _check_chunk(chunk)
        heard.append(chunk)
        while heard.end >= sample((len(loudness) + 1) * fps):
            second = heard.between(sample(len(loudness) * fps), sample((len(loudness) + 1) * fps))
            loudness.append(float(np.mean(second * second)))
        while heard.end >= sample(index + lookahead):
            yield draw(index, index + lookahead, sample(index + lookahead))
            index += 1
    if heard.end == 0:
        raise InferenceError("invalid_audio", "the audio stream ended before any audio arrived")
    total = frame_count(heard.end, sample_rate, fps)
    for owed in range(index, total):  # the frames still owed when the chunks end
        last_frame = min(owed + lookahead, total)
        yield draw(owed, last_frame, min(sample(last_frame), heard.end))


def _loudest_second(loudness: list[float], first_frame: int, fps: int, memory_frames: int) -> int | None:
    """Index of the loudest whole second (by its mean square in loudness) ending by first_frame and starting at most
    memory_frames before it; None when there is none (the stream's first seconds)."""
    seconds = range(max(0, -(-(first_frame - memory_frames) // fps)), first_frame // fps)
    return max(seconds, key=lambda second: loudness[second], default=None)


def _pose_at(
    audio: np.ndarray,
    sample_rate: int,
    n_frames: int,
    position: int,
    fps: int,
    seed: int,
    expression: str,
    intensity: float,
) -> np.ndarray:
    """(len(PARAMETERS),) float32 pose of the frame at position of mono audio (N,) covering n_frames, without
    blinks and idle head motion.

    The offline track of this stretch of audio; its head columns keep only what
    speech adds to the idle sway, which runs on the stream's own clock instead.
    """
    from .animation import animation_track
    from .rig import HEAD_PARAMETERS, PARAMETERS

    pose = animation_track(audio, sample_rate, n_frames, fps, seed=seed, expression=expression, intensity=intensity)[
        position
    ]
    pose[[PARAMETERS.index(name) for name in HEAD_PARAMETERS]] -= _idle_head(n_frames, fps, seed)[position]
    return cast(np.ndarray, pose)


@lru_cache(maxsize=16)
def _idle_head(n_frames: int, fps: int, seed: int) -> np.ndarray:
    """(n_frames, 3) float32 head pose (roll, nod, yaw degrees) of a silent stretch of n_frames, read-only."""
    from .motion import head_track

    head = head_track(np.zeros(n_frames), fps, seed)
    head.setflags(write=False)
    return head


def _idle_motion(n_frames: int, fps: int, seed: int) -> np.ndarray:
    """(n_frames, 4) float32 blink closure and silent head pose (roll, nod, yaw) per frame from the stream's start.

    Computed a second beyond n_frames and cut, so that each frame's values are
    the same whatever n_frames: the offline tracks of any longer video start
    with them.
    """
    from .motion import blink_track, head_track

    margin = fps
    blinks = blink_track(n_frames + margin, fps, seed)[:n_frames]
    return np.column_stack([blinks, head_track(np.zeros(n_frames + margin), fps, seed)[:n_frames]])


def _check_chunk(chunk: np.ndarray) -> None:
    if not isinstance(chunk, np.ndarray) or chunk.ndim != 1 or not np.issubdtype(chunk.dtype, np.floating):
        shape = f"{chunk.dtype} {chunk.shape}" if isinstance(chunk, np.ndarray) else type(chunk).__name__
        raise InferenceError(
            "invalid_audio", f"each audio chunk must be mono floating-point samples (a 1-D float array), not {shape}"
        )
    if not np.all(np.isfinite(chunk)):
        raise InferenceError("invalid_audio", "an audio chunk contains NaN or infinite samples")


class _Heard:
    """The audio heard so far, addressed by sample index from the stream's start; the oldest can be forgotten.

    Appending keeps the chunk as it is; reading joins the pending chunks once,
    so one-sample chunks cost no more than large ones.
    """

    def __init__(self) -> None:
        self.start = 0  # index of samples[0]
        self.end = 0  # one past the last sample heard
        self.samples = np.zeros(0, np.float64)
        self.pending: list[np.ndarray] = []

    def append(self, chunk: np.ndarray) -> None:
        self.pending.append(chunk)
        self.end += chunk.size

    def between(self, first: int, last: int) -> np.ndarray:
        """(last - first,) float64 samples; first must not be forgotten yet."""
        if self.pending:
            self.samples = np.concatenate([self.samples, *self.pending]).astype(np.float64, copy=False)
            self.pending = []
        return self.samples[first - self.start : last - self.start]

    def forget_before(self, first: int) -> None:
        if first > self.start:
            self.samples = self.samples[first - self.start :]
            self.start = first
