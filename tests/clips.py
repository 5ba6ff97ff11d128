"""Builds live-capture test clips from a real photo: landmark-driven head turns and jaw, mouth following the spoken
digits.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from inference import faces, media, speech

CLIP_SIDE = 320
# Interior features moved sideways / vertically against the face outline, in face widths:
# what a head turn of roughly 25 degrees looks like in the landmarks.
YAW_SHIFT = 0.2
PITCH_SHIFT = 0.2
# Jaw drop at full opening, in mouth widths.
MOUTH_DROP = 0.25
_DIRECTIONS = {"left": (1.0, 0.0), "right": (-1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0)}


def face_crop(photo: np.ndarray) -> np.ndarray:
    """A square around the photo's face, resized to CLIP_SIDE: a selfie framing."""
    x, y, w, h = faces.face_single(photo).box
    side = min(int(w * 3.4), *photo.shape[:2])
    cx, cy = x + w // 2, y + h // 2
    left = int(np.clip(cx - side // 2, 0, photo.shape[1] - side))
    top = int(np.clip(cy - side // 2 + h // 6, 0, photo.shape[0] - side))
    square = photo[top : top + side, left : left + side]
    return cv2.resize(square, (CLIP_SIDE, CLIP_SIDE), interpolation=cv2.INTER_CUBIC)


# Photo (by its pixels) -> its selfie framing and that framing's landmarks: every clip of one photo starts from them.
_SELFIES: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}


def selfie(photo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """face_crop(photo) and its 68 landmarks, found once per photo for the whole run (two face detections a clip were
    a large share of a clip's cost). Both arrays are read-only: the clips pose copies of them.
    """
    key = hashlib.sha256(photo.tobytes() + str((photo.shape, photo.dtype)).encode()).digest()
    if key not in _SELFIES:
        face = face_crop(photo)
        landmarks = faces.face_single(face).landmarks
        face.setflags(write=False)
        landmarks.setflags(write=False)
        _SELFIES[key] = face, landmarks
    return _SELFIES[key]


def head_turned(frame: np.ndarray, landmarks: np.ndarray, direction: str, amount: float) -> np.ndarray:
    """The frame with the face's interior (nose, eyes, mouth) shifted against its outline, as a turned head looks.

    amount 0..1; the shift falls off as a Gaussian around the nose tip so the outline and background stay put.
    """
    if amount <= 0:
        return frame
    dx, dy = _DIRECTIONS[direction]
    width = landmarks[16, 0] - landmarks[0, 0]
    shift = amount * width * np.array([dx * YAW_SHIFT, dy * PITCH_SHIFT])
    rows, columns = np.mgrid[0 : frame.shape[0], 0 : frame.shape[1]].astype(np.float32)
    cx, cy = landmarks[30]
    # Below the nose the shift reaches far down for a nod, so both lips move together and the mouth stays as it is.
    reach_below = (0.33 if dy == 0 else 0.9) * width
    vertical = (rows - cy) / np.where(rows > cy, reach_below, 0.33 * width)
    bump = np.exp(-(((columns - cx) / (0.33 * width)) ** 2 + vertical**2) / 2)
    # A nod also moves the eyes against the nose, the other way: half as far, close around them.
    ex, ey = landmarks[36:48].mean(axis=0)
    eyes = np.exp(-((columns - ex) ** 2 / (0.4 * width) ** 2 + (rows - ey) ** 2 / (0.15 * width) ** 2) / 2)
    map_x = (columns - shift[0] * bump).astype(np.float32)
    map_y = (rows - shift[1] * (bump - 0.5 * eyes)).astype(np.float32)
    return cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _turn_amount(t: float, start: float, end: float, ramp: float = 0.15) -> float:
    if t <= start or t >= end:
        return 0.0
    return float(min(1.0, (t - start) / ramp, (end - t) / ramp))


def mouth_opened(frame: np.ndarray, landmarks: np.ndarray, amount: float) -> np.ndarray:
    """The frame with the jaw dropped by amount 0..1 (a quarter of the mouth's width at 1) and the gap between the lips
    dark.

    The lower lip, chin and jaw move down as a Gaussian around the lower lip; the upper lip stays where it is.
    """
    if amount <= 0:
        return frame
    mouth_width = np.linalg.norm(landmarks[54] - landmarks[48])
    drop = amount * MOUTH_DROP * mouth_width
    rows, columns = np.mgrid[0 : frame.shape[0], 0 : frame.shape[1]].astype(np.float32)
    cx, cy = landmarks[57]
    lip_line = landmarks[[60, 61, 62, 63, 64], 1].max()
    below = np.clip((rows - lip_line) / 2.0, 0.0, 1.0)
    falloff = np.exp(
        -((columns - cx) ** 2) / (2 * (0.7 * mouth_width) ** 2) - ((rows - cy) ** 2) / (2 * (1.2 * mouth_width) ** 2)
    )
    moved = cv2.remap(
        frame,
        columns,
        (rows - drop * below * falloff).astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    )
    upper = landmarks[[60, 61, 62, 63, 64]]
    lower = landmarks[[64, 65, 66, 67, 60]] + np.array([0.0, drop]) * np.array([[0.2], [0.9], [1.0], [0.9], [0.2]])
    cv2.fillPoly(moved, [np.round(np.vstack([upper, lower])).astype(np.int32)], (70, 25, 30), cv2.LINE_AA)
    return moved


def speech_envelope(audio: np.ndarray, sample_rate: int, n_frames: int, fps: int) -> np.ndarray:
    """Jaw opening 0..1 per frame from the loudness of mono audio (N,): how far a speaker's mouth opens on each
    syllable.
    """
    hop = sample_rate / fps
    level = np.array([np.sqrt(np.mean(audio[int(i * hop) : int((i + 1) * hop)] ** 2) + 1e-12) for i in range(n_frames)])
    db = 20 * np.log10(level)
    peak = db.max()
    return np.clip((db - (peak - 30.0)) / 30.0, 0.0, 1.0) ** 1.5


def liveness_clip(
    photo: np.ndarray,
    *,
    turns: list[str],
    digits: str = "4 7 2",
    language: str = "en",
    fps: int = 15,
    seconds: float = 3.0,
    lips_follow: str = "speech",
    voice: str | None = None,
    first_turn_at: float = 0.3,
    mouth_scale: float = 1.0,
) -> bytes:
    """MP4 bytes (H.264 + AAC) of the photo's person answering a challenge.

    turns: head turns in order (left/right/up/down, the person's own left); digits: read aloud.
    lips_follow: "speech" (live), "other" (mouth driven by a different utterance: dubbed), "still" (no motion).
    voice: the synthesizer's voice reading the digits (default: the language's own).
    first_turn_at: when the first turn starts, as a share of the clip (0: as soon as recording begins).
    mouth_scale: how far the mouth opens, as a share of a speaker's opening (tests/clips.py speech_envelope).
    """
    face, landmarks = selfie(photo)
    sample_rate = media.AUDIO_SAMPLE_RATE
    spoken = _spoken(digits, language, voice)
    seconds = max(seconds, spoken.size / sample_rate + 0.8)
    n_frames = int(round(seconds * fps))
    audio = np.zeros(int(seconds * sample_rate), np.float32)
    start = int(0.4 * sample_rate)
    audio[start : start + spoken.size] = spoken
    if lips_follow == "other":
        other = _spoken("nine, one, eight, three, five, six", language)[: audio.size]
        mouth_audio = np.zeros_like(audio)
        mouth_audio[audio.size - other.size :] = other
        mouth = speech_envelope(mouth_audio, sample_rate, n_frames, fps)
    elif lips_follow == "still":
        mouth = np.zeros(n_frames)
    else:
        mouth = speech_envelope(audio, sample_rate, n_frames, fps)
    # Each turn holds ~0.5 s, a third of the clip apart; the face is frontal the rest of the time.
    windows = [
        (seconds * (first_turn_at + 0.33 * i), seconds * (first_turn_at + 0.33 * i) + min(0.75, seconds * 0.28))
        for i in range(len(turns))
    ]
    posed = []
    for index in range(n_frames):
        frame = mouth_opened(face, landmarks, mouth_scale * float(mouth[index]))
        for direction, (begin, end) in zip(turns, windows, strict=False):
            frame = head_turned(frame, landmarks, direction, _turn_amount(index / fps, begin, end))
        posed.append(frame)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        media.mp4_write(path, posed, audio, sample_rate, fps=fps, crf=23)
        return path.read_bytes()


def _spoken(text: str, language: str, voice: str | None = None) -> np.ndarray:
    spoken = speech.synthesize(text, language, voice=voice)
    return media.audio_resample(spoken.audio, spoken.sample_rate, media.AUDIO_SAMPLE_RATE)


def mirrored_face_clip(photo: np.ndarray, *, side: int = CLIP_SIDE, seconds: float = 14.0, fps: int = 15) -> bytes:
    """MP4 of the photo's face (the selfie framing at side x side px) and its mirror image in turn, with a hiss: each
    frame's face differs from the last, so tracking cannot carry it and would search every frame.
    """
    face = cv2.resize(face_crop(photo), (side, side), interpolation=cv2.INTER_CUBIC)
    frames = [face if index % 2 == 0 else np.ascontiguousarray(face[:, ::-1]) for index in range(int(seconds * fps))]
    hiss = np.random.default_rng(0).standard_normal(int(seconds * media.AUDIO_SAMPLE_RATE)).astype(np.float32) * 0.1
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mirrored.mp4"
        media.mp4_write(path, frames, hiss, media.AUDIO_SAMPLE_RATE, fps=fps, crf=23)
        return path.read_bytes()


def still_clip(photo: np.ndarray, *, fps: int = 15, seconds: float = 3.0, digits: str = "4 7 2") -> bytes:
    """The photo itself filmed for a few seconds with the digits spoken over it: a replayed still."""
    return liveness_clip(photo, turns=[], digits=digits, fps=fps, seconds=seconds, lips_follow="still")


class LiveClips:
    """Clips of one photo's person answering each possible challenge, built on first use and kept for the session.

    A challenge's turns and digits are random; clips are cached by both, and read the challenge's digits aloud
    (recognized for consent requested in English, lip-synced in every language).
    """

    def __init__(self, photo: np.ndarray, **options):
        self.photo = photo
        self.options = options
        self._clips: dict[tuple[tuple[str, ...], str], bytes] = {}

    def __call__(self, challenge: dict) -> bytes:
        # Digits given as an option are read whatever the challenge asks (a replay of other digits).
        digits = self.options.get("digits", challenge.get("digits", "4 7 2"))
        answer = (tuple(challenge["turns"]), digits)
        if answer not in self._clips:
            self._clips[answer] = liveness_clip(self.photo, turns=list(answer[0]), **{**self.options, "digits": digits})
        return self._clips[answer]


def _opus_frame(audio: np.ndarray, start: int) -> av.AudioFrame:
    """20 ms of mono 48 kHz sound from sample `start`, zero-padded at the end."""
    chunk = np.zeros((1, 960), np.float32)
    piece = audio[start : start + 960]
    chunk[0, : piece.size] = piece
    frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
    frame.sample_rate = 48_000
    frame.pts = start
    return frame


def as_browser_webm(clip: bytes, *, fps: int = 15, seed: int = 0) -> bytes:
    """The clip re-encoded as a browser's MediaRecorder writes it: WebM, VP8 + Opus, millisecond timestamps with
    jitter.
    """
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "clip.mp4"
        source.write_bytes(clip)
        frames = list(media.video_frames(source))
        audio = media.audio_resample(media.audio_decode(source), media.AUDIO_SAMPLE_RATE, 48_000)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="webm") as container:
        video = container.add_stream("libvpx", rate=fps)
        video.height, video.width = frames[0].shape[:2]
        video.pix_fmt = "yuv420p"
        video.time_base = Fraction(1, 1000)
        # A browser's encoder is real-time: each frame's packet comes out at once, not after a look-ahead. A positive
        # cpu-used lets libvpx choose its speed from how long frames take to encode, so the clip changed with the
        # machine's load; a negative one fixes speed 8 and the same frames give the same bytes. One thread: libvpx's
        # row threads spin-wait on each other, which cost 15-20 times the processor time on 2 cores (42-58 against
        # 2.7-3.0 ms a frame at 320 px) for no gain in wall time.
        video.options = {"lag-in-frames": "0", "deadline": "realtime", "cpu-used": "-8", "threads": "1"}
        # Chromium's MediaRecorder gives a 640x480 camera about 2.5 Mbit/s; libvpx's own default is a fraction of it.
        video.bit_rate = 2_500_000 * frames[0].shape[0] * frames[0].shape[1] // (640 * 480)
        sound = container.add_stream("libopus", rate=48_000, layout="mono")
        # Muxed in time order, each frame with the sound up to it, as a recorder writes its clusters.
        audio_at = 0
        for index, frame in enumerate(frames):
            packet_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            # Webcam frames arrive a few milliseconds early or late.
            packet_frame.pts = int(round(index * 1000 / fps + (rng.uniform(-8, 8) if index else 0)))
            packet_frame.time_base = Fraction(1, 1000)
            container.mux(video.encode(packet_frame))
            while audio_at < min(audio.size, (index + 1) * 48_000 / fps):
                container.mux(sound.encode(_opus_frame(audio, audio_at)))
                audio_at += 960
        container.mux(video.encode(None))
        while audio_at < audio.size:
            container.mux(sound.encode(_opus_frame(audio, audio_at)))
            audio_at += 960
        container.mux(sound.encode(None))
    return buffer.getvalue()


def flash_reflected(
    frame: np.ndarray,
    landmarks: np.ndarray,
    colour: str,
    strength: float,
    *,
    rng: np.random.Generator,
    noise: float = 2.0,
    background_share: float = 0.1,
    lit: str = "face",
) -> np.ndarray:
    """The frame as a camera sees it while a screen of colour '#rrggbb' lights the face, plus camera noise.

    Physical model, in linear light (the sRGB curve undone): a surface of albedo rho under the room's light E shows
    rho * E; the screen adds rho * E_screen * c. The frame's own pixels stand in for rho * E, so the screen adds
    `strength * mask * c * pixel / skin`, where skin is the face's mean linear level: on average skin the added light
    is `strength` of the colour, a darker or redder surface reflects less or redder. The mask is the face (jaw line and
    a forehead above the brows) blurred so it falls off over a tenth of the face's width at its edges, and
    `background_share` everywhere else: walls and hair further from the screen get a little of its light
    (background_share 0.1 ~ a wall at three times the face's distance, by the inverse square law).
    lit="frame": the whole picture re-lit alike (a global white-balance shift); lit="overlay": the colour blended over
    the whole picture at `strength` (an attacker's tint). strength 0 leaves the picture as it was, with its noise.
    Camera noise: Gaussian, `noise` levels of 255 per pixel and channel, on the sRGB values.
    """
    linear = (frame.astype(np.float32) / 255) ** 2.2
    screen = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)], dtype=np.float32) ** 2.2
    if lit == "overlay":
        lit_frame = (1 - strength) * frame.astype(np.float32) / 255 + strength * screen ** (1 / 2.2)
    else:
        width = landmarks[16, 0] - landmarks[0, 0]
        face = np.zeros(frame.shape[:2], np.float32)
        brows = landmarks[17:27] - np.array([0, 0.35 * width])
        outline = np.vstack([landmarks[0:17], brows[::-1]])
        cv2.fillPoly(face, [np.round(outline).astype(np.int32)], 1.0)
        face = cv2.GaussianBlur(face, (0, 0), 0.1 * width)
        skin = float(linear[face > 0.9].mean())
        mask = np.ones_like(face) if lit == "frame" else np.maximum(face, background_share)
        linear = linear + strength * mask[..., None] * screen * linear / skin
        lit_frame = np.clip(linear, 0, 1) ** (1 / 2.2)
    noisy = lit_frame * 255 + rng.normal(0, noise, frame.shape)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def flash_capture(
    face: np.ndarray,
    landmarks: np.ndarray,
    *,
    colours: list[str],
    durations_ms: list[int],
    strength: float,
    lag_s: float = 0.2,
    seed: int = 0,
    fps: float = 15.0,
    start_s: float = 1.0,
    jpeg_quality: int | None = 70,
    **reflection,
) -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray]]:
    """Frames, their times and the face's landmarks of a capture of a face (a `face_crop` and its landmarks) lit by the
    flash revealed at start_s: the reflection begins lag_s later (screen and camera latency).

    The head sways by up to a pixel between frames; `reflection` goes to flash_reflected (noise, background_share,
    lit). Each frame is then re-encoded as JPEG at jpeg_quality (4:2:0 chroma, as VP8 keeps it; None: not at all).
    """
    rng = np.random.default_rng(seed)
    ends = start_s + lag_s + np.cumsum(durations_ms) / 1000
    times = np.arange(0.0, ends[-1] + 1.5, 1 / fps)
    frames, frame_landmarks = [], []
    for time in times:
        shift = rng.uniform(-1, 1, 2)
        moved = cv2.warpAffine(
            face, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]), face.shape[1::-1], borderMode=cv2.BORDER_REFLECT
        )
        moved_landmarks = landmarks + shift.astype(np.float32)
        index = int(np.searchsorted(ends, time, side="right"))
        showing = time >= start_s + lag_s and index < len(colours)
        frame = flash_reflected(
            moved,
            moved_landmarks,
            colours[index] if showing else "#ffffff",
            strength if showing else 0.0,
            rng=rng,
            **reflection,
        )
        if jpeg_quality is not None:
            frame = media.image_decode(media.image_encode_jpeg(frame, quality=jpeg_quality))
        frames.append(frame)
        frame_landmarks.append(moved_landmarks)
    return frames, times, frame_landmarks
