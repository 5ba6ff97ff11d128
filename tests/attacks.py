"""Capture frames made from a portrait photo's own pixels (the attacks the portrait-copy check refuses), and the
post-transforms an attacker hides them behind.

Makers (photo RGB uint8 -> list of RGB frames of a selfie-framed face):
- ``warp_2d``: the 2-D photo attack of tests/clips.py (landmark-driven head turns and jaw, H.264 at crf 23);
- ``warp_depth``: the photo lifted onto a rough face-shaped height map and re-projected for a head yaw / pitch;
- ``engine_animated``: the photo animated by Candor's own engine (``inference.animate``) speaking a short sentence.

Post-transforms (frames -> frames): ``reencode_h264``, ``reencode_vp8``, ``rescaled``, ``blurred``, ``noised``,
``colour_shifted``, ``relit``. A genuine stand-in is the same maker run on a DIFFERENT photo of the same person:
other pixels of the same face, which is what a real camera capture is relative to the portrait.
"""

from __future__ import annotations

import io
import math
import tempfile
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from inference import faces, media
from tests import clips

Frames = list[np.ndarray]


def warp_2d(photo: np.ndarray, *, turns: Sequence[str] = ("left", "up"), seconds: float = 2.0) -> Frames:
    """tests/clips.py's photo attack (head turns, jaw following the spoken digits), decoded: 15 fps, 320 px."""
    clip = clips.liveness_clip(photo, turns=list(turns), seconds=seconds)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        path.write_bytes(clip)
        return list(media.video_frames(path))


def face_height_map(shape: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    """A rough relief (H, W) float32 in pixels toward the camera: a half-ellipsoid over the face outline and a nose.

    The ellipsoid spans the jaw line's width and from the chin to a brow-height above the brows, as deep as half the
    face's width; the nose adds a Gaussian ridge peaking at the nose tip. Background stays at 0.
    """
    width = float(landmarks[16, 0] - landmarks[0, 0])
    centre_x = float(landmarks[[0, 16], 0].mean())
    chin_y = float(landmarks[8, 1])
    brow_y = float(landmarks[17:27, 1].min())
    top_y = brow_y - 0.35 * (chin_y - brow_y)
    centre_y, half_height = (chin_y + top_y) / 2, (chin_y - top_y) / 2
    rows, columns = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    inside = 1.0 - ((columns - centre_x) / (width / 2)) ** 2 - ((rows - centre_y) / half_height) ** 2
    relief = 0.5 * width * np.sqrt(np.clip(inside, 0.0, None))
    nose_x, nose_y = landmarks[30]
    bridge_y = landmarks[27, 1]
    along = np.clip((rows - bridge_y) / max(nose_y - bridge_y, 1.0), 0.0, 1.0)
    nose = 0.12 * width * along * np.exp(-(((columns - nose_x) / (0.07 * width)) ** 2) / 2)
    nose *= np.exp(-((np.clip(rows - nose_y, 0.0, None) / (0.05 * width)) ** 2))
    return (relief + nose).astype(np.float32)


def depth_posed(frame: np.ndarray, landmarks: np.ndarray, *, yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """The frame's face rotated in depth by yaw (positive: toward the image's right) and pitch (positive: down).

    Each pixel at height z moves by z * sin(angle) across and the face foreshortens by cos(angle) about its centre;
    the mapping is inverted approximately by reading the height at the destination.
    """
    height = face_height_map(frame.shape[:2], landmarks)
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    rows, columns = np.mgrid[0 : frame.shape[0], 0 : frame.shape[1]].astype(np.float32)
    centre_x, centre_y = landmarks[30]
    weight = np.clip(height / max(height.max(), 1.0) * 4.0, 0.0, 1.0)
    source_x = centre_x + (columns - centre_x - height * math.sin(yaw)) / (1.0 - weight * (1.0 - math.cos(yaw)))
    source_y = centre_y + (rows - centre_y - height * math.sin(pitch)) / (1.0 - weight * (1.0 - math.cos(pitch)))
    return cv2.remap(
        frame, source_x.astype(np.float32), source_y.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


def warp_depth(
    photo: np.ndarray, *, n_frames: int = 8, max_yaw_deg: float = 25.0, max_pitch_deg: float = 15.0
) -> Frames:
    """The photo's face swept in depth: yaw from -max to +max and pitch from +max to -max over n_frames, 320 px."""
    face = clips.face_crop(photo)
    landmarks = faces.face_single(face).landmarks
    sweep = np.linspace(-1.0, 1.0, n_frames)
    return [depth_posed(face, landmarks, yaw_deg=max_yaw_deg * s, pitch_deg=-max_pitch_deg * s) for s in sweep]


def engine_animated(
    photo: np.ndarray, *, text: str = "four seven two, nine one eight", fps: int = 15, seed: int = 0
) -> Frames:
    """The photo speaking text, animated by Candor's engine (head sway, blinks, lips), framed as a selfie: 2-3 s."""
    from inference import animate, synthesize

    speech = synthesize(text, "en")
    return list(
        animate(clips.face_crop(photo), speech.audio, speech.sample_rate, fps=fps, phonemes=speech.phonemes, seed=seed)
    )


def _decoded(data: bytes) -> Frames:
    with av.open(io.BytesIO(data)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def _even(frames: Frames) -> Frames:
    """Frames cropped to even sides (yuv420p needs them)."""
    return [np.ascontiguousarray(frame[: frame.shape[0] // 2 * 2, : frame.shape[1] // 2 * 2]) for frame in frames]


def reencode_h264(frames: Frames, *, crf: int = 32, fps: int = 15) -> Frames:
    """Frames through H.264 (libx264, yuv420p) at crf and back."""
    buffer = io.BytesIO()
    frames = _even(frames)
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"crf": str(crf), "preset": "veryfast"})
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return _decoded(buffer.getvalue())


def reencode_vp8(frames: Frames, *, bit_rate: int = 500_000, fps: int = 15) -> Frames:
    """Frames through VP8 (libvpx) at bit_rate bits/s, as a browser's MediaRecorder sends a webcam, and back."""
    buffer = io.BytesIO()
    frames = _even(frames)
    with av.open(buffer, mode="w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = bit_rate
        stream.time_base = Fraction(1, fps)
        for index, frame in enumerate(frames):
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts = index
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode(None))
    return _decoded(buffer.getvalue())


def rescaled(frames: Frames, *, factor: float) -> Frames:
    """Frames resized by factor (area averaging down, cubic up)."""
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    return [cv2.resize(frame, None, fx=factor, fy=factor, interpolation=interpolation) for frame in frames]


def blurred(frames: Frames, *, sigma: float) -> Frames:
    """Frames under a Gaussian blur of sigma pixels."""
    return [cv2.GaussianBlur(frame, (0, 0), sigma) for frame in frames]


def noised(frames: Frames, *, sigma: float, seed: int = 0) -> Frames:
    """Frames with Gaussian noise of sigma (0..1 of full scale), fresh in every frame, as a camera sensor adds."""
    rng = np.random.default_rng(seed)
    return [np.clip(frame + rng.normal(0.0, sigma * 255.0, frame.shape), 0, 255).astype(np.uint8) for frame in frames]


def colour_shifted(frames: Frames, *, gains: tuple[float, float, float] = (1.12, 0.97, 0.85)) -> Frames:
    """Frames with each channel scaled (a white-balance shift)."""
    scale = np.array(gains, np.float32)
    return [np.clip(frame * scale, 0, 255).astype(np.uint8) for frame in frames]


def relit(frames: Frames, *, gain: float = 0.8, gamma: float = 1.3, gradient: float = 0.4) -> Frames:
    """Frames under other light: brightness gain, a gamma, and a left-to-right ramp of +-gradient/2."""
    result = []
    for frame in frames:
        ramp = 1.0 + gradient * (np.linspace(-0.5, 0.5, frame.shape[1], dtype=np.float32)[None, :, None])
        light = gain * ramp * (frame / 255.0) ** gamma
        result.append(np.clip(light * 255.0, 0, 255).astype(np.uint8))
    return result


def face_swapped(face_frames: Frames, host_frames: Frames) -> Frames:
    """The face of each face frame moved onto the host frame's face (a similarity from landmarks to landmarks) inside
    the host's jaw-and-brow outline, feathered: a face swap that keeps the host's head, hair and room. Frames where
    either face is not found stay the host's."""
    swapped: Frames = []
    for face_frame, host in zip(face_frames, host_frames, strict=False):
        source, target = faces.faces_detect(face_frame), faces.faces_detect(host)
        if len(source) != 1 or len(target) != 1:
            swapped.append(host)
            continue
        matrix, _ = cv2.estimateAffinePartial2D(source[0].landmarks, target[0].landmarks)
        moved = cv2.warpAffine(face_frame, matrix, (host.shape[1], host.shape[0]), borderMode=cv2.BORDER_REFLECT)
        mask = np.zeros(host.shape[:2], np.float32)
        cv2.fillConvexPoly(mask, cv2.convexHull(np.round(target[0].landmarks).astype(np.int32)), 1.0)
        mask = cv2.GaussianBlur(cv2.erode(mask, np.ones((5, 5), np.uint8)), (0, 0), 2.0)[..., None]
        swapped.append(np.clip(moved * mask + host * (1 - mask), 0, 255).astype(np.uint8))
    return swapped


MAKERS: dict[str, Callable[[np.ndarray], Frames]] = {
    "2-D warp": warp_2d,
    "depth warp": warp_depth,
    "engine": engine_animated,
}

# Name -> transform; the calibration runs each maker through each of these (and the benchmark's --full through more
# strengths). The strongest of each listed in issue #15: crf up to 35, scale 0.5-1.5, blur up to 1.5 px, noise up to
# 4/255.
TRANSFORMS: dict[str, Callable[[Frames], Frames]] = {
    "as made": lambda frames: frames,
    "H.264 crf 35": lambda frames: reencode_h264(frames, crf=35),
    "VP8 300 kbit/s": lambda frames: reencode_vp8(frames, bit_rate=300_000),
    "scale 0.5": lambda frames: rescaled(frames, factor=0.5),
    "scale 1.5": lambda frames: rescaled(frames, factor=1.5),
    "blur 1.5 px": lambda frames: blurred(frames, sigma=1.5),
    "noise 4/255": lambda frames: noised(frames, sigma=4 / 255),
    "colour shift": colour_shifted,
    "relight": relit,
}

# Several degradations at once, at the strongest listed: a face ~47 px wide under a 1.5 px blur and crf 35 keeps
# too little texture to tell apart from another photo. Reported by the benchmark, not calibrated on.
STACKED: dict[str, Callable[[Frames], Frames]] = {
    "scale 0.5 + blur 1.5 + noise 4/255 + H.264 crf 35": lambda frames: reencode_h264(
        noised(blurred(rescaled(frames, factor=0.5), sigma=1.5), sigma=4 / 255), crf=35
    ),
    "scale 0.75 + blur 1 + noise 2/255 + H.264 crf 30": lambda frames: reencode_h264(
        noised(blurred(rescaled(frames, factor=0.75), sigma=1.0), sigma=2 / 255), crf=30
    ),
}


def analysis_frames(frames: Frames, count: int = 5) -> tuple[Frames, list[np.ndarray]]:
    """count evenly spaced frames of a capture (at most 640 px on the long side) with their 68 landmarks, as the live
    capture hands them to the portrait-copy check; frames where no single face is found are passed over.
    """
    chosen: Frames = []
    landmarks: list[np.ndarray] = []
    for index in np.linspace(0, len(frames) - 1, min(len(frames), count + 2)).round().astype(int):
        frame = frames[index]
        scale = min(1.0, 640 / max(frame.shape[:2]))
        if scale < 1.0:
            frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        found = faces.faces_detect(frame)
        if len(found) == 1:
            chosen.append(frame)
            landmarks.append(found[0].landmarks)
    step = max(1, len(chosen) // count)
    return chosen[::step][:count], landmarks[::step][:count]
