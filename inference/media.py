"""File and stream I/O for the engine: images, audio and MP4 (H.264 + AAC) through Pillow and PyAV."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, cast

import av
import numpy as np
from av.video.reformatter import Interpolation, VideoReformatter
from PIL import Image, ImageOps, UnidentifiedImageError, WebPImagePlugin  # noqa: F401  # registers WebP's parser

from .errors import InferenceError

# Decompression bombs: a JPEG of a few MB can decode to gigabytes.
MAX_IMAGE_PIXELS = 40_000_000
MIN_IMAGE_SIDE = 32
# Hostile files carry tags that are not UTF-8; tags are never used here, so they must not stop decoding.
METADATA_ERRORS = "replace"
IMAGE_FORMATS = {"JPEG", "PNG", "WEBP"}
# Only their parsers read an upload. They are loaded with this module (Pillow's preinit has JPEG's and PNG's, with
# BMP's, GIF's and PPM's), so that a forked analysis child, checking whether a capture is a photo, does not import
# Pillow's forty other plugins first (about 60 ms of processor time each time).
Image.preinit()
AUDIO_SAMPLE_RATE = 16_000
AAC_SAMPLE_RATE = 48_000
# FFmpeg's AAC encoder with its constant-quantizer coder instead of the default two-loop search: for 32.8 s of
# espeak's speech at 96 kbit/s mono, 0.30 s of processor time against 0.74-1.09 s (a tenth of a whole render's), and no
# worse: the decoded speech's SNR under 8 kHz 28.1 dB against 25.2 dB (FFmpeg's documentation: "better and much faster
# at higher bitrates", worse below 64 kbit/s).
AAC_OPTIONS = {"aac_coder": "fast"}
# x264 on the encoding thread alone: a render already overlaps the encoder with the thread that makes its frames, and
# x264's own frame and lookahead threads on top of that took 5-10% more of a render's processor time for no shorter
# wall time on 2 cores, at 512 and at 1080 px (docs/engine.md, Speed).
X264_OPTIONS = {"preset": "veryfast", "threads": "1"}
# BT.601 video-range chroma (16-240) from full-range chroma (0-255): what H.264 players expect of yuv420p.
_VIDEO_RANGE_CHROMA = np.clip(np.rint(128 + (np.arange(256) - 128) * 224 / 255), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frame_count: int
    duration_s: float
    has_audio: bool
    audio_duration_s: float


@dataclass(frozen=True)
class VideoHeader:
    """What a video's container declares, read without decoding a frame (it may lie: decoders still check)."""

    width: int
    height: int
    duration_s: float | None  # None when the container does not say (a browser's WebM often does not)
    fps: float | None
    codec: str
    has_audio: bool


@dataclass(frozen=True)
class VideoLimits:
    """The most an uploaded video may ask of the decoder: its size (either orientation), length, rate and codecs."""

    max_long_side: int
    max_short_side: int
    max_duration_s: float
    max_fps: float
    codecs: frozenset[str]

    @property
    def max_frames(self) -> int:
        return int(self.max_duration_s * self.max_fps)


def image_decode(data: bytes, *, max_side: int = 2048) -> np.ndarray:
    """RGB uint8 (H, W, 3) from JPEG/PNG/WebP bytes, EXIF-rotated, longest side capped."""
    if not data:
        raise InferenceError("unsupported_image", "the image file is empty")
    Image.MAX_IMAGE_PIXELS = None  # checked below with our own, clearer limit
    try:
        with Image.open(io.BytesIO(data), formats=sorted(IMAGE_FORMATS)) as probe:
            width, height = probe.size
            if width * height > MAX_IMAGE_PIXELS:
                raise InferenceError(
                    "too_large",
                    f"the image has {width * height / 1e6:.0f} megapixels; "
                    f"at most {MAX_IMAGE_PIXELS / 1e6:.0f} are accepted",
                )
            if min(width, height) < MIN_IMAGE_SIDE:
                # A sliver (e.g. 1 x 10,000,000 pixels) cannot show a face and breaks resizing further on.
                raise InferenceError(
                    "unsupported_image",
                    f"the image is {width}x{height} pixels; at least {MIN_IMAGE_SIDE} on each side are needed",
                )
            image = ImageOps.exif_transpose(probe).convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise InferenceError("unsupported_image", "the file is not a readable JPEG, PNG or WebP image") from error
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8).copy()


def image_encode_jpeg(image: np.ndarray, *, quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def audio_decode(
    source: str | Path | bytes, *, sample_rate: int = AUDIO_SAMPLE_RATE, max_seconds: float = 600.0
) -> np.ndarray:
    """Mono float32 samples at `sample_rate` from any audio file FFmpeg reads (WAV, MP3, OGG, FLAC, M4A, ...)."""
    stream_source = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    chunks: list[np.ndarray] = []
    total = 0
    limit = int(max_seconds * sample_rate)
    try:
        with av.open(stream_source, mode="r", metadata_errors=METADATA_ERRORS) as container:
            if not container.streams.audio:
                raise InferenceError("invalid_audio", "the file has no audio track")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1)
                    chunks.append(samples)
                    total += samples.size
                if total > limit:
                    raise InferenceError("audio_too_long", f"the audio is longer than {max_seconds:.0f} seconds")
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except av.FFmpegError as error:
        raise InferenceError(
            "invalid_audio", "the file is not a readable audio file (WAV, MP3, OGG, FLAC or M4A)"
        ) from error
    audio = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    audio_check_speech(audio, sample_rate)
    return audio


def audio_check_speech(audio: np.ndarray, sample_rate: int) -> None:
    """Refuse audio that is empty, too short or silent: it would render a still face."""
    if audio.size < sample_rate * 0.2:
        raise InferenceError("invalid_audio", "the audio is empty or shorter than 0.2 seconds")
    if not np.isfinite(audio).all() or float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))) < 1e-3:
        raise InferenceError("silent_audio", "the audio is silent; upload a recording with speech")


def audio_resample(audio: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    if source_rate == target_rate:
        return audio.astype(np.float32)
    duration = audio.size / source_rate
    target_times = np.arange(int(round(duration * target_rate))) / target_rate
    source_times = np.arange(audio.size) / source_rate
    return cast(np.ndarray, np.interp(target_times, source_times, audio).astype(np.float32))


def mp4_write(
    path: str | Path,
    frames: Iterable[np.ndarray],
    audio: np.ndarray,
    sample_rate: int,
    *,
    fps: int = 25,
    crf: int = 20,
    on_frame: Callable[[int], None] | None = None,
) -> None:
    """Encode RGB frames + mono float32 audio as H.264/AAC MP4, written to a temp file and renamed atomically.

    Frames are consumed one at a time (never held), and each frame's stretch of
    audio is muxed beside it. `on_frame(i)` is called after each encoded frame
    (progress, cancellation by raising).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(suffix=".mp4", dir=path.parent, prefix=".partial-")
    os.close(handle)
    try:
        _mp4_encode(temp_name, frames, audio, sample_rate, fps=fps, crf=crf, on_frame=on_frame)
        os.replace(temp_name, path)
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)


def _mp4_encode(
    path: str,
    frames: Iterable[np.ndarray],
    audio: np.ndarray,
    sample_rate: int,
    *,
    fps: int,
    crf: int,
    on_frame: Callable[[int], None] | None,
) -> None:
    with av.open(path, mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        video = None
        # PyAV's encoder resamples to the stream's rate (libswresample) as the audio arrives.
        audio_stream = container.add_stream("aac", rate=AAC_SAMPLE_RATE, layout="mono", options=AAC_OPTIONS)
        audio_stream.bit_rate = 96_000
        audio_sent = 0

        def send_audio(until: int) -> None:
            nonlocal audio_sent
            chunk = np.clip(audio[audio_sent:until], -1.0, 1.0).reshape(1, -1)
            if chunk.size:
                audio_frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(chunk, dtype=np.float32), format="flt", layout="mono"
                )
                audio_frame.sample_rate = sample_rate
                audio_frame.pts = audio_sent
                container.mux(audio_stream.encode(audio_frame))
            audio_sent = max(audio_sent, until)

        for index, frame in enumerate(frames):
            if video is None:
                video = container.add_stream("libx264", rate=fps, options={"crf": str(crf), **X264_OPTIONS})
                video.height, video.width = frame.shape[:2]
                video.pix_fmt = "yuv420p"
                video.time_base = Fraction(1, fps)
            video_frame = video_frame_i420(frame)
            video_frame.pts = index
            container.mux(video.encode(video_frame))
            send_audio((index + 1) * sample_rate // fps)
            if on_frame is not None:
                on_frame(index)
        if video is None:
            raise InferenceError("no_frames", "nothing to encode: the animation produced no frames")
        container.mux(video.encode(None))
        send_audio(audio.size)
        container.mux(audio_stream.encode(None))


def video_frame_i420(frame: np.ndarray) -> av.VideoFrame:
    """An RGB frame as the encoder's 4:2:0 frame (BT.601, video range), converted by OpenCV rather than libswscale.

    libswscale has no fast path from packed RGB: it took about 1 ms of a 512 px frame, a fifth of the encoding's
    processor time; OpenCV takes a quarter of that. Luma is OpenCV's exact conversion; each chroma sample is that of
    the 2x2 pixels it covers averaged (OpenCV's own 4:2:0 conversion takes one of the four, which aliases edges).
    """
    import cv2

    height, width = frame.shape[:2]
    if height % 2 or width % 2:
        raise InferenceError("invalid_frames", f"H.264 in 4:2:0 needs even sides, not {width}x{height}")
    planes = np.asarray(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2YUV_I420), dtype=np.uint8)
    averaged = cv2.resize(frame, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    _, red_difference, blue_difference = cv2.split(cv2.cvtColor(averaged, cv2.COLOR_RGB2YCrCb))
    # The planes one after another (Y, then U, then V), as yuv420p lays them out; a chroma plane's rows need not fill
    # whole rows of the array (a height of 270 has 135 of them).
    flat = planes.reshape(-1)
    luma_size, chroma_size = height * width, height * width // 4
    flat[luma_size : luma_size + chroma_size] = cv2.LUT(blue_difference, _VIDEO_RANGE_CHROMA).reshape(-1)
    flat[luma_size + chroma_size :] = cv2.LUT(red_difference, _VIDEO_RANGE_CHROMA).reshape(-1)
    return av.VideoFrame.from_ndarray(planes, format="yuv420p")


class FragmentedMp4Writer:
    """H.264 + AAC written as fragmented MP4 while it is made: each keyframe starts a fragment a player can show at
    once."""

    def __init__(
        self, target: BinaryIO, *, width: int, height: int, fps: int, sample_rate: int, keyframe_every_s: float = 1.0
    ) -> None:
        self.container = av.open(
            target,
            mode="w",
            format="mp4",
            options={
                "movflags": "frag_keyframe+empty_moov+default_base_moof",
                # Without an edit list (empty_moov) the AAC priming would otherwise delay the first video frame.
                "avoid_negative_ts": "make_non_negative",
            },
        )
        # zerolatency: no B-frames or lookahead, so each frame leaves the encoder as it goes in.
        self.video = self.container.add_stream(
            "libx264", rate=fps, options={"crf": "20", "preset": "veryfast", "tune": "zerolatency"}
        )
        self.video.width, self.video.height = width, height
        self.video.pix_fmt = "yuv420p"
        self.video.time_base = Fraction(1, fps)
        self.video.gop_size = max(1, round(keyframe_every_s * fps))
        # PyAV's encoder resamples to the stream's rate as the audio arrives.
        self.audio = self.container.add_stream("aac", rate=AAC_SAMPLE_RATE, layout="mono", options=AAC_OPTIONS)
        self.audio.bit_rate = 96_000
        self.sample_rate = sample_rate
        self.samples = 0

    def __enter__(self) -> FragmentedMp4Writer:
        return self

    def __exit__(self, error_type: type[BaseException] | None, *details: object) -> None:
        if error_type is None:
            self.container.mux(self.video.encode(None))
            self.container.mux(self.audio.encode(None))
        self.container.close()

    def add_audio(self, chunk: np.ndarray) -> None:
        if not chunk.size:
            return
        samples = np.ascontiguousarray(np.clip(chunk, -1.0, 1.0).reshape(1, -1), dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = self.samples
        self.samples += chunk.size
        self.container.mux(self.audio.encode(frame))

    def add_frame(self, index: int, image: np.ndarray) -> None:
        frame = video_frame_i420(image)
        frame.pts = index
        self.container.mux(self.video.encode(frame))


def video_probe(path: str | Path) -> VideoInfo:
    """Decode a whole video file to count its frames and audio (InferenceError when unreadable)."""
    try:
        with av.open(str(path), metadata_errors=METADATA_ERRORS) as container:
            if not container.streams.video:
                raise InferenceError("invalid_video", "the file has no video track")
            stream = container.streams.video[0]
            frame_count = sum(1 for _ in container.decode(stream))
            fps = float(stream.average_rate or 0)
        audio_seconds = 0.0
        has_audio = False
        with av.open(str(path), metadata_errors=METADATA_ERRORS) as container:
            if container.streams.audio:
                has_audio = True
                audio_stream = container.streams.audio[0]
                samples = sum(frame.samples for frame in container.decode(audio_stream))
                audio_seconds = samples / audio_stream.rate
    except av.FFmpegError as error:
        raise InferenceError("invalid_video", "the file is not a readable video") from error
    return VideoInfo(
        width=stream.width,
        height=stream.height,
        fps=fps,
        frame_count=frame_count,
        duration_s=frame_count / fps if fps else 0.0,
        has_audio=has_audio,
        audio_duration_s=audio_seconds,
    )


def video_frames(source: str | Path, *, max_frames: int | None = None, step: int = 1) -> Iterator[np.ndarray]:
    """RGB uint8 frames of a video file, every `step`-th, at most `max_frames`; InferenceError when unreadable."""
    yielded = 0
    try:
        with av.open(str(source), metadata_errors=METADATA_ERRORS) as container:
            if not container.streams.video:
                raise InferenceError("invalid_video", "the file has no video track")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for index, frame in enumerate(container.decode(stream)):
                if index % step:
                    continue
                yield frame.to_ndarray(format="rgb24")
                yielded += 1
                if max_frames is not None and yielded >= max_frames:
                    return
    except av.FFmpegError as error:
        if yielded == 0:
            raise InferenceError("invalid_video", "the file is not a readable video (MP4, MOV or WebM)") from error


def video_frames_timed(source: str | Path, *, max_seconds: float) -> Iterator[tuple[float, np.ndarray]]:
    """(time s on the file's timeline, RGB uint8 frame) for the frames of a video's first max_seconds, by their
    timestamps (so that frame-rate changes keep their timing); InferenceError when unreadable."""
    yielded = 0
    try:
        with av.open(str(source), metadata_errors=METADATA_ERRORS) as container:
            if not container.streams.video:
                raise InferenceError("invalid_video", "the file has no video track")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            first: float | None = None
            for index, frame in enumerate(container.decode(stream)):
                time_s = float(frame.time) if frame.time is not None else index / float(stream.average_rate or 25)
                first = time_s if first is None else first
                if time_s - first > max_seconds:
                    return
                yield time_s, frame.to_ndarray(format="rgb24")
                yielded += 1
    except av.FFmpegError as error:
        if yielded == 0:
            raise InferenceError("invalid_video", "the file is not a readable video (MP4, MOV or WebM)") from error


def video_sound(
    source: str | Path, *, max_seconds: float, sample_rate: int = AUDIO_SAMPLE_RATE
) -> tuple[np.ndarray, float | None]:
    """(mono float32 samples at sample_rate of a video's first max_seconds of sound, time s of the first sample on
    the file's timeline); empty samples and None when it has no readable sound."""
    chunks: list[np.ndarray] = []
    start: float | None = None
    limit = int(max_seconds * sample_rate)
    total = 0
    try:
        with av.open(str(source), metadata_errors=METADATA_ERRORS) as container:
            if not container.streams.audio:
                return np.zeros(0, np.float32), None
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            for frame in container.decode(audio=0):
                if start is None and frame.time is not None:
                    start = float(frame.time)
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1)
                    chunks.append(samples)
                    total += samples.size
                if total >= limit:
                    break
    except av.FFmpegError:
        # Damaged sound is no sound: the picture is still read, and the report says the sound did not match.
        pass
    audio = np.concatenate(chunks).astype(np.float32)[:limit] if chunks else np.zeros(0, np.float32)
    return audio, start if audio.size else None


def video_header(source: str | Path | bytes) -> VideoHeader:
    """The container's own description of its first video stream, without decoding (InferenceError when unreadable)."""
    stream_source = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        with av.open(stream_source, mode="r", metadata_errors=METADATA_ERRORS) as container:
            if not container.streams.video:
                raise InferenceError("invalid_video", "the file has no video track")
            stream = container.streams.video[0]
            if stream.codec_context is None:
                # A stream whose codec FFmpeg does not know (or a damaged header) has no decoder to describe it.
                raise InferenceError("invalid_video", "the file's video track is in no codec that can be read")
            if container.duration is not None:
                duration_s: float | None = container.duration / av.time_base
            elif stream.duration is not None and stream.time_base is not None:
                duration_s = float(stream.duration * stream.time_base)
            else:
                duration_s = None
            # Only the rate the container states: a browser's WebM states none, and FFmpeg's guess from a few jittery
            # millisecond timestamps can be 1000 a second. Decoding enforces the limits whatever the header says.
            rate = stream.average_rate
            return VideoHeader(
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                duration_s=duration_s,
                fps=float(rate) if rate else None,
                codec=stream.codec_context.name,
                has_audio=bool(container.streams.audio),
            )
    except av.FFmpegError as error:
        raise InferenceError("invalid_video", "the file is not a readable video (MP4, MOV or WebM)") from error


def _size_check(width: int, height: int, limits: VideoLimits) -> None:
    if max(width, height) > limits.max_long_side or min(width, height) > limits.max_short_side:
        raise InferenceError(
            "video_too_large",
            f"the video is {width}x{height}; at most {limits.max_long_side}x{limits.max_short_side} is accepted",
        )


def video_check(header: VideoHeader, limits: VideoLimits) -> None:
    """Refuse, before decoding, a video whose declared size, length, rate or codec is beyond `limits`."""
    if header.codec not in limits.codecs:
        raise InferenceError(
            "video_too_large", f"{header.codec} video is not accepted; use one of {', '.join(sorted(limits.codecs))}"
        )
    _size_check(header.width, header.height, limits)
    if header.duration_s is not None and header.duration_s > limits.max_duration_s:
        raise InferenceError("video_too_long", f"the video must be shorter than {limits.max_duration_s:.0f} seconds")
    if header.fps is not None and header.fps > limits.max_fps:
        raise InferenceError(
            "video_too_large",
            f"the video has {header.fps:.0f} frames a second; at most {limits.max_fps:.0f} are accepted",
        )


def video_frames_bounded(
    source: str | Path | bytes, *, limits: VideoLimits, fps: float, max_side: int
) -> Iterator[tuple[float, np.ndarray]]:
    """(time in seconds, RGB uint8 frame (h, w, 3)) at most `fps` a second, scaled to at most `max_side` pixels.

    Only the frames kept are converted and scaled. The container's header may lie, so decoding stops (InferenceError)
    at the first frame beyond `limits`: larger than allowed, later than the longest duration, or one frame too many.
    Times come from the stream, not a nominal rate: webcam recordings have variable frame rates.
    """
    stream_source = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    decoded = 0
    last_slot = -1
    # Decoded on this thread (no frame or slice threads): what bounds the analysis is processor time, which a 1080p
    # decode's threads raise by about a tenth, and their frames in flight add memory. One scaler for all frames (a
    # frame's own reformat sets up a new one each time), on this thread too: the kept frames are small, and swscale's
    # own threads cost more processor time than they save. Shrinking averages each output
    # pixel's area of the source, as cheap as bilinear at a third of 1080p and without its aliasing.
    reformatter = VideoReformatter()
    try:
        with av.open(stream_source, mode="r", metadata_errors=METADATA_ERRORS) as container:
            if not container.streams.video:
                raise InferenceError("invalid_video", "the file has no video track")
            stream = container.streams.video[0]
            stream.thread_count = 1
            for frame in container.decode(stream):
                decoded += 1
                at = float(frame.time) if frame.time is not None else (decoded - 1) / fps
                if at > limits.max_duration_s or decoded > limits.max_frames:
                    raise InferenceError(
                        "video_too_long", f"the video must be shorter than {limits.max_duration_s:.0f} seconds"
                    )
                _size_check(frame.width, frame.height, limits)
                # One frame per 1/fps slot, by its nearest slot: webcam timestamps jitter by a few ms.
                slot = int(np.floor(at * fps + 0.5))
                if slot <= last_slot:
                    continue
                last_slot = slot
                scale = min(1.0, max_side / max(frame.width, frame.height))
                # Even sizes: the scaler's chroma planes need them.
                width, height = (max(2, 2 * round(side * scale / 2)) for side in (frame.width, frame.height))
                interpolation = Interpolation.AREA if scale < 1.0 else None
                converted = reformatter.reformat(
                    frame, width=width, height=height, format="rgb24", interpolation=interpolation, threads=1
                )
                yield at, converted.to_ndarray()
    except av.FFmpegError as error:
        raise InferenceError("invalid_video", "the file is not a readable video (MP4, MOV or WebM)") from error


def packet_arrivals(source: bytes, *, max_packets: int) -> list[tuple[int, float]]:
    """For every packet of every stream, (the byte just past it in `source`, the media time in seconds its content
    ends), read by demuxing only, nothing decoded; in file order.

    A live capture arrives in pieces: the byte offsets say which piece completed each packet, so each piece's arrival
    time can be set against the media time it carried. InferenceError beyond `max_packets` or when unreadable.
    """
    ends: list[tuple[int, float]] = []
    try:
        with av.open(io.BytesIO(source), mode="r", metadata_errors=METADATA_ERRORS) as container:
            for packet in container.demux():
                if packet.pts is None or packet.pos is None or packet.pos < 0 or packet.time_base is None:
                    continue
                if len(ends) >= max_packets:
                    raise InferenceError("video_too_long", f"the capture has more than {max_packets} packets")
                end_time = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                ends.append((packet.pos + packet.size, end_time))
    except av.FFmpegError as error:
        raise InferenceError("invalid_video", "the capture is not a readable video (WebM or MP4)") from error
    return ends
