"""Shared fixtures for provenance tests: real, tiny MP4s built with PyAV."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

VIDEO_SIZE = 64
VIDEO_FPS = 25
AUDIO_RATE = 16000
AUDIO_FRAME = 1024


def mp4_build(*, path: Path, seconds: float = 1.0) -> Path:
    """Write an H.264 + AAC MP4 with changing pictures and a tone, so the mdat holds real media."""
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=VIDEO_FPS)
        video.width = VIDEO_SIZE
        video.height = VIDEO_SIZE
        video.pix_fmt = "yuv420p"
        audio = container.add_stream("aac", rate=AUDIO_RATE)
        audio.layout = "mono"

        for index in range(round(seconds * VIDEO_FPS)):
            picture = np.full((VIDEO_SIZE, VIDEO_SIZE, 3), (index * 9) % 256, dtype=np.uint8)
            container.mux(video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(video.encode())

        n_samples = round(seconds * AUDIO_RATE)
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(n_samples) / AUDIO_RATE)).astype(np.float32)
        for start in range(0, n_samples, AUDIO_FRAME):
            frame = av.AudioFrame.from_ndarray(tone[None, start : start + AUDIO_FRAME], format="fltp", layout="mono")
            frame.sample_rate = AUDIO_RATE
            frame.pts = start
            container.mux(audio.encode(frame))
        container.mux(audio.encode())
    return path


def mp4_remux(*, source: Path, destination: Path) -> Path:
    """Stream-copy every track into a fresh MP4, as a re-upload pipeline would."""
    with av.open(str(source)) as reader, av.open(str(destination), "w", format="mp4") as writer:
        streams = {stream.index: writer.add_stream_from_template(stream) for stream in reader.streams}
        for packet in reader.demux():
            # Demuxers end each stream with an empty flush packet that cannot be muxed.
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream.index]
            writer.mux(packet)
    return destination


@pytest.fixture
def sample_mp4(tmp_path: Path) -> Path:
    return mp4_build(path=tmp_path / "sample.mp4")


@pytest.fixture
def remux_mp4():
    """Hand tests the stream-copy helper; a fixture keeps conftest out of import paths."""
    return mp4_remux
