"""A render's content over time, in picture and in sound, to tell the render from other content carrying its watermark.

Three tracks are kept per render, each a perceptual hash compared by Hamming distance:

- ``face``: per frame, a 63-bit DCT pHash of the face box (who is pictured);
- ``mouth``: per frame, 63 bits saying which low DCT coefficients of the mouth box are above the render's own mean
  mouth (how the mouth moves); only the ``MOUTH_BITS`` coefficients that move most in the render are compared;
- ``audio``: every ``AUDIO_HOP_S``, 32 bits of band-energy-difference signs (Haitsma & Kalker, "A Highly Robust
  Audio Fingerprinting System", ISMIR 2002), from mono audio at ``media.AUDIO_SAMPLE_RATE``.

A copy is aligned to the render in space (the watermark reading's scale and mirroring plus the crop offset the coarse
thumbnail match finds, see ``fingerprint.content_alignment``) and in time (the offset searched in ``TIME_STEP_S``
steps; the copy's own timestamps absorb frame-rate changes); then every track is compared at that one offset, so
sound that is out of step with the picture does not match.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from inference.faces import faces_detect
from inference.media import AUDIO_SAMPLE_RATE, audio_resample

from .fingerprint import frame_luma

# Boxes are hashed at HASH_SIDE x HASH_SIDE; the hash keeps the 8 x 8 lowest DCT coefficients but the constant one.
HASH_SIDE = 32
_DCT_KEEP = 8
# Mouth coefficients compared: the ones that move most over the render (the others only carry compression noise).
MOUTH_BITS = 32
AUDIO_FRAME = 2048  # 128 ms at 16 kHz
AUDIO_HOP = 320  # 20 ms
AUDIO_HOP_S = AUDIO_HOP / AUDIO_SAMPLE_RATE
# 33 bands, log-spaced over the speech band, give 32 energy differences.
_AUDIO_BAND_EDGES_HZ = np.geomspace(300.0, 3400.0, 34)
# Offsets between copy and render are searched in these steps.
TIME_STEP_S = 0.02
# Sound may lead or lag the picture this much and still be in step (a frame and a half at 25 fps).
AUDIO_SYNC_TOLERANCE_S = 0.06
# Sound is out of step with the picture when the picture alone (face + mouth distance) fits another offset better than
# the common one by more than this: genuine copies measure at most PICTURE_SYNC_MARGIN / 2 (benchmarks/verifier.py).
PICTURE_SYNC_MARGIN = 0.1
# At an offset, at least this share of the examined copy must fall inside the render.
MIN_COVERAGE = 0.9
# Mean Hamming distance (share of bits) at or below which a track matches. Calibrated with benchmarks/verifier.py;
# docs/verifier.md gives the distributions measured.
FACE_MATCH_DISTANCE = 0.2
# The mouth: genuine copies measured at most 0.182, forgeries at least 0.295 (50 cases each); halfway between.
MOUTH_MATCH_DISTANCE = 0.24
# How far (in mouth-box widths) the mouth box may move to where the copy's mean mouth fits the render's.
MOUTH_SHIFT_REACH = 0.06
AUDIO_MATCH_DISTANCE = 0.3

TRACKS = ("picture", "mouth", "audio")

Box = tuple[int, int, int, int]  # x, y, width, height in render pixels


@dataclass(frozen=True)
class ContentTracks:
    """A render's per-frame picture hashes and its audio fingerprint."""

    fps: float
    face_box: Box
    mouth_box: Box
    face: np.ndarray  # (frames,) uint64, 63 bits used
    mouth: np.ndarray  # (frames,) uint64, 63 bits used
    mouth_mean: np.ndarray  # (63,) float32: the render's mean normalized mouth coefficients
    mouth_mask: int  # the MOUTH_BITS compared
    audio: np.ndarray  # (words,) uint32, one per AUDIO_HOP_S; empty when the render has no sound on record


@dataclass(frozen=True)
class CopyTracks:
    """What was read from a copy: frame times (s, from its first frame) with their coefficients, and its sound."""

    times: np.ndarray  # (n,) float64
    face: np.ndarray  # (n,) uint64
    mouth_coefficients: np.ndarray  # (n, 63) float32
    audio: np.ndarray  # (words,) uint32
    audio_start_s: float  # the first audio sample's time relative to the first frame


@dataclass(frozen=True)
class TrackComparison:
    """How far each track of a copy is from the render's at the best common offset (shares of bits, 0 = same)."""

    offset_s: float | None  # where the copy starts in the render; None when no offset covers the copy
    distances: dict[str, float | None]  # track -> mean Hamming share; None where it could not be measured
    mismatched: tuple[str, ...]  # tracks over their threshold (or missing from the copy), in TRACKS order
    frames_compared: int
    # How much better the picture alone fits another offset than the common one (0 when sound and picture agree).
    sync_gap: float | None = None

    @property
    def matches(self) -> bool:
        return not self.mismatched


def boxes_from_landmarks(landmarks: np.ndarray, frame_shape: tuple[int, int]) -> tuple[Box, Box]:
    """(face box, mouth box) from 68 iBUG landmarks (x, y), clipped to the frame; the mouth box leaves room for the
    jaw to open."""
    height, width = frame_shape

    def clipped(x0: float, y0: float, x1: float, y1: float) -> Box:
        left, top = max(0, round(x0)), max(0, round(y0))
        right, bottom = min(width, round(x1)), min(height, round(y1))
        return left, top, max(1, right - left), max(1, bottom - top)

    face_min, face_max = landmarks.min(axis=0), landmarks.max(axis=0)
    face_margin = 0.1 * (face_max - face_min)
    mouth = landmarks[48:68]
    mouth_width = float(np.ptp(mouth[:, 0]))
    centre_x = float(mouth[:, 0].mean())
    centre_y = float(mouth[:, 1].mean()) + 0.15 * mouth_width
    return (
        clipped(*(face_min - face_margin), *(face_max + face_margin)),
        clipped(
            centre_x - 0.8 * mouth_width,
            centre_y - 0.6 * mouth_width,
            centre_x + 0.8 * mouth_width,
            centre_y + 0.6 * mouth_width,
        ),
    )


def boxes_default(frame_shape: tuple[int, int]) -> tuple[Box, Box]:
    """Where a portrait's face and mouth usually are, for frames in which no face is found."""
    height, width = frame_shape
    return (
        (width // 6, height // 8, 2 * width // 3, 3 * height // 4),
        (width // 3, height // 2, width // 3, height // 4),
    )


def _dct_coefficients(patch: np.ndarray) -> np.ndarray:
    """The 63 lowest AC DCT coefficients of a luma patch resized to HASH_SIDE, scaled to unit length."""
    small = cv2.resize(patch.astype(np.float32), (HASH_SIDE, HASH_SIDE), interpolation=cv2.INTER_AREA)
    coefficients = cv2.dct(small)[:_DCT_KEEP, :_DCT_KEEP].reshape(-1)[1:]
    norm = float(np.linalg.norm(coefficients))
    return coefficients / norm if norm > 0 else coefficients


def _bits(flags: np.ndarray) -> np.ndarray:
    """(n, k <= 64) booleans -> (n,) uint64."""
    weights = np.left_shift(np.uint64(1), np.arange(flags.shape[-1], dtype=np.uint64))
    return (flags.astype(np.uint64) * weights).sum(axis=-1, dtype=np.uint64)


def face_hash(coefficients: np.ndarray) -> np.ndarray:
    """pHash bits (above the median) of (n, 63) face coefficients -> (n,) uint64."""
    return _bits(coefficients > np.median(coefficients, axis=-1, keepdims=True))


def box_patch(luma: np.ndarray, box: Box) -> np.ndarray:
    """The box of an (H, W) luma frame; parts outside the frame are filled from its edge."""
    x, y, w, h = box
    height, width = luma.shape
    if x >= 0 and y >= 0 and x + w <= width and y + h <= height:
        return luma[y : y + h, x : x + w]
    pad = max(0, -x, -y, x + w - width, y + h - height)
    padded = cv2.copyMakeBorder(luma, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    return padded[y + pad : y + pad + h, x + pad : x + pad + w]


def box_coefficients(luma: np.ndarray, face_box: Box, mouth_box: Box) -> tuple[np.ndarray, np.ndarray]:
    """(face, mouth) coefficients, each (63,), of one (H, W) luma frame."""
    return _dct_coefficients(box_patch(luma, face_box)), _dct_coefficients(box_patch(luma, mouth_box))


def audio_fingerprint(audio: np.ndarray) -> np.ndarray:
    """(words,) uint32 Haitsma-Kalker sub-fingerprints of mono float audio at AUDIO_SAMPLE_RATE, one per AUDIO_HOP.

    Bit m of word n is the sign of (E[n, m] - E[n, m+1]) - (E[n-1, m] - E[n-1, m+1]), E the log energy of band m in
    the AUDIO_FRAME window starting at sample n * AUDIO_HOP.
    """
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    if audio.size < AUDIO_FRAME + AUDIO_HOP:
        return np.zeros(0, np.uint32)
    count = 1 + (audio.size - AUDIO_FRAME) // AUDIO_HOP
    frequencies = np.fft.rfftfreq(AUDIO_FRAME, 1 / AUDIO_SAMPLE_RATE)
    band_of = np.searchsorted(_AUDIO_BAND_EDGES_HZ, frequencies, side="right") - 1
    bands = len(_AUDIO_BAND_EDGES_HZ) - 1
    in_band = (band_of >= 0) & (band_of < bands)
    summing = np.zeros((frequencies.size, bands), np.float32)
    summing[np.flatnonzero(in_band), band_of[in_band]] = 1.0
    window = np.hanning(AUDIO_FRAME).astype(np.float32)
    energies = []
    # In chunks, so that a long render's spectrogram never sits in memory whole.
    for first in range(0, count, 1024):
        starts = np.arange(first, min(count, first + 1024)) * AUDIO_HOP
        frames = audio[starts[:, None] + np.arange(AUDIO_FRAME)] * window
        power = np.abs(np.fft.rfft(frames, axis=1)).astype(np.float32) ** 2
        energies.append(np.log(power @ summing + 1e-9))
    energy = np.concatenate(energies)
    band_difference = energy[:, :-1] - energy[:, 1:]
    flags = (band_difference[1:] - band_difference[:-1]) > 0
    return _bits(flags).astype(np.uint32)


class RenderTracker:
    """Collects a render's tracks frame by frame as the frames are published."""

    def __init__(self, *, fps: float, face_box: Box, mouth_box: Box):
        self.fps, self.face_box, self.mouth_box = fps, face_box, mouth_box
        self._face: list[np.ndarray] = []
        self._mouth: list[np.ndarray] = []

    def add(self, luma: np.ndarray) -> None:
        face, mouth = box_coefficients(luma, self.face_box, self.mouth_box)
        self._face.append(face)
        self._mouth.append(mouth)

    def tracks(self, *, audio_words: np.ndarray) -> ContentTracks:
        face = np.array(self._face, np.float32).reshape(-1, 63)
        mouth = np.array(self._mouth, np.float32).reshape(-1, 63)
        mouth_mean = mouth.mean(axis=0) if len(mouth) else np.zeros(63, np.float32)
        moving = np.argsort(-mouth.std(axis=0))[:MOUTH_BITS] if len(mouth) else np.arange(MOUTH_BITS)
        return ContentTracks(
            fps=self.fps,
            face_box=self.face_box,
            mouth_box=self.mouth_box,
            face=face_hash(face),
            mouth=_bits(mouth > mouth_mean),
            mouth_mean=mouth_mean.astype(np.float32),
            mouth_mask=int(sum(1 << int(bit) for bit in moving)),
            audio=audio_words.astype(np.uint32),
        )


def render_tracker(first_frame: np.ndarray, *, fps: float) -> RenderTracker:
    """A tracker whose boxes are the face and mouth found in a render's first frame (or where they usually are)."""
    found = faces_detect(first_frame)
    face_box, mouth_box = (
        boxes_from_landmarks(found[0].landmarks, first_frame.shape[:2])
        if found
        else boxes_default(first_frame.shape[:2])
    )
    return RenderTracker(fps=fps, face_box=face_box, mouth_box=mouth_box)


def sound_fingerprint(sound: tuple[np.ndarray, int] | None) -> np.ndarray:
    """audio_fingerprint of (mono samples, sample rate) at any rate; empty for no sound."""
    if sound is None:
        return np.zeros(0, np.uint32)
    audio, sample_rate = sound
    return audio_fingerprint(audio_resample(audio, sample_rate, AUDIO_SAMPLE_RATE))


def tracks_to_bytes(tracks: ContentTracks) -> bytes:
    buffer = io.BytesIO()
    np.savez(
        buffer,
        fps=np.float64(tracks.fps),
        boxes=np.array([tracks.face_box, tracks.mouth_box], np.int64),
        face=tracks.face,
        mouth=tracks.mouth,
        mouth_mean=tracks.mouth_mean,
        mouth_mask=np.uint64(tracks.mouth_mask),
        audio=tracks.audio,
    )
    return buffer.getvalue()


def tracks_from_bytes(data: bytes) -> ContentTracks:
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        face_box, mouth_box = (tuple(int(v) for v in box) for box in arrays["boxes"])
        return ContentTracks(
            fps=float(arrays["fps"]),
            face_box=face_box,  # type: ignore[arg-type]  # four ints, as stored
            mouth_box=mouth_box,  # type: ignore[arg-type]
            face=arrays["face"].astype(np.uint64),
            mouth=arrays["mouth"].astype(np.uint64),
            mouth_mean=arrays["mouth_mean"].astype(np.float32),
            mouth_mask=int(arrays["mouth_mask"]),
            audio=arrays["audio"].astype(np.uint32),
        )


def copy_box(box: Box, *, scale: float, offset: tuple[float, float]) -> Box:
    """A render box in the pixels of a copy that is the render's crop at `offset` (render pixels) scaled by `scale`
    (a mirrored copy is flipped back first)."""
    x, y, w, h = box
    return (
        round((x - offset[0]) * scale),
        round((y - offset[1]) * scale),
        max(1, round(w * scale)),
        max(1, round(h * scale)),
    )


def _mouths_placed(areas: list[np.ndarray], mouth_mean: np.ndarray, *, reach: int, size: tuple[int, int]) -> np.ndarray:
    """(n, 63) mouth coefficients of each frame's area, cut at the one shift (within reach) where the mean of the
    areas gives coefficients nearest the render's mean mouth. One shift for the whole copy: it corrects where the
    box was placed, never how the mouth moves."""
    if not areas:
        return np.zeros((0, 63), np.float32)
    width, height = size
    mean_area = np.mean(areas, axis=0)
    shifts = [(dx, dy) for dy in range(2 * reach + 1) for dx in range(2 * reach + 1)]
    errors = [
        float(np.linalg.norm(_dct_coefficients(mean_area[dy : dy + height, dx : dx + width]) - mouth_mean))
        for dx, dy in shifts
    ]
    dx, dy = shifts[int(np.argmin(errors))]
    return np.array([_dct_coefficients(area[dy : dy + height, dx : dx + width]) for area in areas], np.float32)


def copy_tracks_read(
    timed_frames: Iterable[tuple[float, np.ndarray]],
    sound: np.ndarray,
    sound_start_s: float | None,
    *,
    render: ContentTracks,
    scale: float,
    offset: tuple[float, float],
    mirrored: bool,
) -> CopyTracks:
    """A copy's tracks, read where the render's boxes fall in it, from its (time s, RGB frame) and mono sound at
    AUDIO_SAMPLE_RATE starting at sound_start_s (both on the file's timeline)."""
    face_box = copy_box(render.face_box, scale=scale, offset=offset)
    mouth_box = copy_box(render.mouth_box, scale=scale, offset=offset)
    # The crop offset comes from a 48-pixel thumbnail, so the mouth box may sit a few pixels off; the mouth is kept
    # with a margin and placed where the copy's mean mouth looks most like the render's.
    reach = max(1, round(MOUTH_SHIFT_REACH * mouth_box[2]))
    around = (mouth_box[0] - reach, mouth_box[1] - reach, mouth_box[2] + 2 * reach, mouth_box[3] + 2 * reach)
    times, faces, mouth_areas = [], [], []
    for time_s, frame in timed_frames:
        luma = frame_luma(frame)
        luma = luma[:, ::-1] if mirrored else luma
        times.append(time_s)
        faces.append(_dct_coefficients(box_patch(luma, face_box)))
        mouth_areas.append(box_patch(luma, around).astype(np.float32))
    mouths = _mouths_placed(mouth_areas, render.mouth_mean, reach=reach, size=mouth_box[2:])
    first = times[0] if times else 0.0
    return CopyTracks(
        times=np.array(times, np.float64) - first,
        face=face_hash(np.array(faces, np.float32).reshape(-1, 63)),
        mouth_coefficients=mouths.reshape(-1, 63),
        audio=audio_fingerprint(sound),
        audio_start_s=0.0 if sound_start_s is None else sound_start_s - first,
    )


def _hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.bitwise_count(np.bitwise_xor(a, b))


def _audio_distance_by_shift(render_words: np.ndarray, copy_words: np.ndarray) -> tuple[np.ndarray, int]:
    """Mean bit error share of the copy's words against the render's, per shift s (copy word j on render word j + s),
    for every shift where MIN_COVERAGE of the copy's words overlap; (distances, lowest shift), inf where too little
    overlaps.

    Errors over an overlap are (ones in the copy's words) + (ones in the render's) - 2 (ones in both), the last
    summed over the 32 bit planes by one FFT cross-correlation, so a ten-minute render costs milliseconds.
    """
    n_render, n_copy = render_words.size, copy_words.size
    lowest = -n_copy + 1
    shifts = np.arange(lowest, n_render)
    planes = np.arange(32, dtype=np.uint32)
    copy_bits = ((copy_words[:, None] >> planes) & 1).astype(np.float64)
    render_bits = ((render_words[:, None] >> planes) & 1).astype(np.float64)
    length = n_copy + n_render
    spectrum = (np.conj(np.fft.rfft(copy_bits, length, axis=0)) * np.fft.rfft(render_bits, length, axis=0)).sum(axis=1)
    both = np.rint(np.fft.irfft(spectrum, length))[shifts % length]
    copy_ones = np.concatenate([[0], np.cumsum(copy_bits.sum(axis=1))])
    render_ones = np.concatenate([[0], np.cumsum(render_bits.sum(axis=1))])
    first = np.maximum(0, -shifts)
    last = np.minimum(n_copy, n_render - shifts)
    overlap = last - first
    errors = copy_ones[last] - copy_ones[first] + render_ones[last + shifts] - render_ones[first + shifts] - 2 * both
    enough = overlap >= max(1, int(np.ceil(MIN_COVERAGE * n_copy)))
    return np.where(enough, errors / np.maximum(overlap, 1) / 32, np.inf), lowest


def _picture_distances(
    render: ContentTracks, copy: CopyTracks, offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(face, mouth) mean Hamming shares and frames compared per candidate offset; inf where less than MIN_COVERAGE
    of the copy's frames fall inside the render. Offsets go in blocks, so a long render needs little memory."""
    n_render = render.face.size
    mask = np.uint64(render.mouth_mask)
    mouth_bits = max(1, int(mask).bit_count())
    copy_mouth = _bits(copy.mouth_coefficients > render.mouth_mean)
    face_distance = np.full(offsets.size, np.inf)
    mouth_distance = np.full(offsets.size, np.inf)
    counted = np.zeros(offsets.size, np.int64)
    for first in range(0, offsets.size, 512):
        block = slice(first, first + 512)
        # Render frame on screen at each copy frame's instant, per candidate offset: (offsets, copy frames).
        index = np.floor((copy.times[None, :] + offsets[block, None]) * render.fps + 1e-3).astype(np.int64)
        inside = (index >= 0) & (index < n_render)
        counted[block] = inside.sum(axis=1)
        covered = counted[block] >= MIN_COVERAGE * copy.times.size
        clipped = np.clip(index, 0, n_render - 1)
        face_errors = (_hamming(copy.face[None, :], render.face[clipped]) * inside).sum(axis=1)
        mouth_errors = (
            np.bitwise_count(np.bitwise_xor(copy_mouth[None, :], render.mouth[clipped]) & mask) * inside
        ).sum(axis=1)
        seen = np.maximum(counted[block], 1)
        face_distance[block] = np.where(covered, face_errors / seen / 63, np.inf)
        mouth_distance[block] = np.where(covered, mouth_errors / seen / mouth_bits, np.inf)
    return face_distance, mouth_distance, counted


def tracks_compare(render: ContentTracks, copy: CopyTracks) -> TrackComparison:
    """Compare a copy's tracks with the render's at the offset where they agree best, all tracks together."""
    n_render = render.face.size
    if copy.times.size == 0 or n_render == 0:
        return TrackComparison(None, dict.fromkeys(TRACKS), TRACKS, 0)
    span = float(copy.times[-1])
    offsets = np.arange(-span, n_render / render.fps + TIME_STEP_S, TIME_STEP_S)
    face_distance, mouth_distance, counted = _picture_distances(render, copy, offsets)
    covered = np.isfinite(face_distance)
    if not covered.any():
        return TrackComparison(None, dict.fromkeys(TRACKS), TRACKS, 0)
    offsets, face_distance, mouth_distance, counted = (
        offsets[covered],
        face_distance[covered],
        mouth_distance[covered],
        counted[covered],
    )
    total = face_distance + mouth_distance
    audio_distance: np.ndarray | None = None
    if render.audio.size and copy.audio.size:
        by_shift, lowest = _audio_distance_by_shift(render.audio, copy.audio)
        tolerance = round(AUDIO_SYNC_TOLERANCE_S / AUDIO_HOP_S)
        centre = np.rint((offsets + copy.audio_start_s) / AUDIO_HOP_S).astype(np.int64) - lowest
        window = centre[:, None] + np.arange(-tolerance, tolerance + 1)[None, :]
        valid = (window >= 0) & (window < by_shift.size)
        audio_distance = np.where(valid, by_shift[np.clip(window, 0, by_shift.size - 1)], np.inf).min(axis=1)
        total = total + np.minimum(audio_distance, 1.0)
    elif render.audio.size:
        total = total + 1.0
    best = int(np.argmin(total))
    distances: dict[str, float | None] = {
        "picture": float(face_distance[best]),
        "mouth": float(mouth_distance[best]),
        "audio": None
        if audio_distance is None or not np.isfinite(audio_distance[best])
        else float(audio_distance[best]),
    }
    limits = {"picture": FACE_MATCH_DISTANCE, "mouth": MOUTH_MATCH_DISTANCE, "audio": AUDIO_MATCH_DISTANCE}
    # Sound in step only with another part of the picture: the picture alone fits a different offset much better.
    picture = face_distance + mouth_distance
    sync_gap = float(picture[best] - picture.min())
    out_of_step = sync_gap > PICTURE_SYNC_MARGIN
    mismatched = tuple(
        track
        for track in TRACKS
        if (distances[track] is None and (track != "audio" or render.audio.size))
        or (distances[track] is not None and distances[track] > limits[track])  # type: ignore[operator]
        or (track == "audio" and out_of_step)
    )
    return TrackComparison(float(offsets[best]), distances, mismatched, int(counted[best]), sync_gap)
