"""Video transformations a published clip meets (re-encode, resize, crop, levels, frame rate, sound swapped or
shifted), for tests and benchmarks."""

from __future__ import annotations

import io
from pathlib import Path

import av
import cv2
import numpy as np


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def h264_round_trip(frames: list[np.ndarray], *, crf: int, fps: int = 25, preset: str = "medium") -> list[np.ndarray]:
    """Encode and decode as H.264 (yuv420p, so odd sizes lose their last row or column, as real encoders do)."""
    height, width = (side - side % 2 for side in frames[0].shape[:2])
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"crf": str(crf), "preset": preset})
        stream.height, stream.width, stream.pix_fmt = height, width, "yuv420p"
        for frame in frames:
            container.mux(
                stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:height, :width]), format="rgb24"))
            )
        container.mux(stream.encode())
    buffer.seek(0)
    with av.open(buffer) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def resized(frames, factor):
    height, width = frames[0].shape[:2]
    return [
        cv2.resize(f, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_AREA) for f in frames
    ]


def center_crop(frames, area):
    height, width = frames[0].shape[:2]
    keep_h, keep_w = round(height * area**0.5), round(width * area**0.5)
    top, left = (height - keep_h) // 2, (width - keep_w) // 2
    return [f[top : top + keep_h, left : left + keep_w] for f in frames]


def levels(frames, *, gain=1.0, offset=0.0):
    return [np.clip((f.astype(np.float32) - 128) * gain + 128 + offset, 0, 255).astype(np.uint8) for f in frames]


def frame_rate_changed(frames, *, source_fps=25, target_fps=30):
    """Each output instant shows the source frame on screen then, as a 25 -> 30 fps conversion does."""
    count = len(frames) * target_fps // source_fps
    return [frames[min(len(frames) - 1, int(i * source_fps / target_fps))] for i in range(count)]


def video_write(
    path: Path,
    frames: list[np.ndarray],
    audio: np.ndarray,
    sample_rate: int,
    *,
    fps: float = 25,
    crf: int = 23,
    preset: str = "veryfast",
    container: str = "mp4",
) -> Path:
    """Encode frames (H.264 in MP4/MOV, VP8 in WebM) with mono float audio (AAC, Opus in WebM) into a new file, as a
    re-upload does: no metadata, so no manifest, survives."""
    height, width = (side - side % 2 for side in frames[0].shape[:2])
    webm = container == "webm"
    with av.open(str(path), "w", format=container) as output:
        video_options = (
            {"b:v": "1M", "deadline": "realtime", "cpu-used": "8"} if webm else {"crf": str(crf), "preset": preset}
        )
        video = output.add_stream("libvpx" if webm else "libx264", rate=round(fps), options=video_options)
        video.height, video.width, video.pix_fmt = height, width, "yuv420p"
        sound = output.add_stream("libopus" if webm else "aac", rate=48_000, layout="mono")
        for frame in frames:
            picture = np.ascontiguousarray(frame[:height, :width])
            output.mux(video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        output.mux(video.encode())
        chunk = 1024
        for start in range(0, audio.size, chunk):
            samples = np.ascontiguousarray(np.clip(audio[start : start + chunk], -1, 1), dtype=np.float32)
            piece = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
            piece.sample_rate, piece.pts = sample_rate, start
            output.mux(sound.encode(piece))
        output.mux(sound.encode())
    return path


def sound_shifted(audio: np.ndarray, *, sample_rate: int, seconds: float) -> np.ndarray:
    """The same length of sound, `seconds` later (silence before), as a badly synchronized edit makes it."""
    delay = round(seconds * sample_rate)
    return np.concatenate([np.zeros(delay, np.float32), audio.astype(np.float32)])[: audio.size]
