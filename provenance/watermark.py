"""Candor's keyed spread-spectrum watermark: one luma tile designed per video, repeated over every frame, read by folding."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from . import bch

ALGORITHM = "org.candor.watermark.ss-tile.1"
PAYLOAD_BITS = bch.K
SERIAL_BITS = 32
KEY_ID_BITS = 8
MAC_BITS = PAYLOAD_BITS - SERIAL_BITS - KEY_ID_BITS
MAX_SERIAL = 2**SERIAL_BITS - 1
# Frames are marked at the render's size; copies are read down to a quarter of it.
MIN_MARK_SIDE = 128
MIN_READ_SIDE = 64

# The mark is a TILE x TILE luma pattern repeated across the frame, so any crop
# still holds whole periods of it and folding the frame onto one tile adds up
# every repetition. Its energy sits in a band of spatial frequencies (cycles per
# pixel at the render's size) that survives H.264 at CRF 35 and a downscale to
# 25% (which keeps only frequencies below 0.125) while staying out of the
# lowest frequencies, where a portrait's own content is strongest.
TILE = 128
BAND = (0.03, 0.09)
# Host rejection before folding: remove the local mean (portraits are mostly
# smooth) and clip what is left at a quarter of the image's mean absolute
# residual, so edges and hair count no more than flat skin, where the mark
# dominates. Lower clips measured better up to this point.
WHITEN_SIGMA = 8.0
WHITEN_CLIP = 0.25
# Informed embedding. A talking portrait barely changes between frames, so the
# host's projection on each carrier does not average out over time. The tile is
# designed against the first frame: as many carriers as the PSNR budget allows
# are pushed to MARGIN on their target side, cheapest first; the rest are left
# alone (cancelling the host there would cost too much).
MARGIN = 0.07
MIN_PSNR_DB = 40.3
REACH_SEARCH_STEPS = 6
SEARCH_REFINE_STEPS = 2
REFINE_STEPS = 4
CROP_VIEW_AREA = 0.8
DOWNSCALE_VIEWS = (0.5, 0.25)
# Decoding is attempted after this many frames (and after the last one) so that
# a clean copy stops early while a damaged one accumulates more evidence.
ATTEMPT_AT = (4, 10, 20)
# Carriers with a known sign, for finding where a cropped copy's tile starts.
# Their agreement (z-score over all 16384 cyclic offsets) must reach PEAK_Z at
# the best offset, or ORIGIN_Z at the render's own origin, for a decode to be tried.
PILOTS = 64
PEAK_Z = 4.0
ORIGIN_Z = 1.5

_DOMAIN = b"candor-wm-v2"


@dataclass(frozen=True)
class _Carriers:
    """Which tile frequencies carry which code bit, with what keyed sign (two real carriers per bin)."""

    rows: np.ndarray  # (bins,) vertical frequency index, 0..TILE-1
    cols: np.ndarray  # (bins,) horizontal frequency index, 1..TILE/2-1
    # (2*bins,) code bit of each carrier (cosine parts, then sine parts); -1 marks a pilot.
    bit: np.ndarray
    sign: np.ndarray  # (2*bins,) keyed +-1; a pilot always carries its sign


def _require_key(key: bytes) -> None:
    if not key:
        # An empty HMAC key would let anyone compute valid payloads.
        raise ValueError("watermark key must not be empty")


def key_id(key: bytes) -> int:
    """The 8-bit id a payload carries so the reader knows which (possibly rotated-out) key made it."""
    _require_key(key)
    return hmac.new(key, _DOMAIN + b"/key-id", hashlib.sha256).digest()[0]


def _mac(serial: int, key: bytes) -> int:
    digest = hmac.new(key, _DOMAIN + b"/mac" + serial.to_bytes(4, "big") + bytes([key_id(key)]), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") >> (32 - MAC_BITS)


def payload_bits(serial: int, key: bytes) -> np.ndarray:
    """The 64 payload bits (uint8 0/1, MSB first): serial, key id, then a keyed MAC of both."""
    if not 0 <= serial <= MAX_SERIAL:
        raise ValueError(f"serial must fit in {SERIAL_BITS} unsigned bits, got {serial}")
    _require_key(key)
    word = (serial << (KEY_ID_BITS + MAC_BITS)) | (key_id(key) << MAC_BITS) | _mac(serial, key)
    return np.unpackbits(np.frombuffer(word.to_bytes(PAYLOAD_BITS // 8, "big"), dtype=np.uint8))


def _parse(message: np.ndarray, key: bytes) -> int | None:
    """The serial carried by ``message`` if its key id and MAC are valid under ``key``."""
    word = int.from_bytes(np.packbits(message.astype(np.uint8)).tobytes(), "big")
    serial = word >> (KEY_ID_BITS + MAC_BITS)
    carried_key_id = (word >> MAC_BITS) & (2**KEY_ID_BITS - 1)
    carried_mac = word & (2**MAC_BITS - 1)
    if carried_key_id != key_id(key) or not hmac.compare_digest(carried_mac.to_bytes(4, "big"), _mac(serial, key).to_bytes(4, "big")):
        return None
    return serial


@lru_cache(maxsize=8)
def _carriers(key: bytes) -> _Carriers:
    seed = hmac.new(key, _DOMAIN + b"/carriers", hashlib.sha256).digest()
    rng = np.random.default_rng(int.from_bytes(seed[:16], "big"))
    signed_rows = np.fft.fftfreq(TILE, d=1.0 / TILE).astype(np.int64)
    rows, cols = np.meshgrid(signed_rows, np.arange(1, TILE // 2), indexing="ij")
    radius = np.hypot(rows, cols) / TILE
    in_band = (radius >= BAND[0]) & (radius <= BAND[1])
    count = 2 * int(in_band.sum())
    # Pilots first, then every code bit gets as many carriers as the band allows,
    # all spread over the band by a keyed shuffle.
    bit = np.empty(count, dtype=np.int64)
    bit[rng.permutation(count)] = np.concatenate([np.full(PILOTS, -1), np.arange(count - PILOTS) % bch.N])
    return _Carriers(
        rows=rows[in_band] % TILE,
        cols=cols[in_band],
        bit=bit,
        sign=rng.choice(np.array([-1.0, 1.0]), size=count),
    )


def _luma(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return frame.astype(np.float32)
    return frame[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _whiten(luma: np.ndarray) -> np.ndarray:
    # float32: OpenCV blurs it several times faster than float64.
    luma = luma.astype(np.float32, copy=False)
    residual = luma - cv2.GaussianBlur(luma, (0, 0), WHITEN_SIGMA)
    limit = WHITEN_CLIP * float(np.mean(np.abs(residual))) + 1e-3
    return np.clip(residual, -limit, limit)


def _fold(image: np.ndarray) -> np.ndarray:
    """The mean of all TILE x TILE periods of an (H, W) image, partial periods at the edges included."""
    height, width = image.shape
    padded_h, padded_w = -(-height // TILE) * TILE, -(-width // TILE) * TILE
    total = np.zeros((padded_h, padded_w), dtype=np.float64)
    total[:height, :width] = image
    count = np.zeros((padded_h, padded_w), dtype=np.float64)
    count[:height, :width] = 1.0
    shape = (padded_h // TILE, TILE, padded_w // TILE, TILE)
    return total.reshape(shape).sum(axis=(0, 2)) / np.maximum(count.reshape(shape).sum(axis=(0, 2)), 1.0)


def _carrier_values(tile: np.ndarray, carriers: _Carriers) -> np.ndarray:
    """Projection of a folded tile on each carrier (cosine parts, then sine parts)."""
    spectrum = np.fft.rfft2(tile)[carriers.rows, carriers.cols] * (2.0 / TILE**2)
    return np.concatenate([spectrum.real, spectrum.imag])


def _tile_from(values: np.ndarray, carriers: _Carriers) -> np.ndarray:
    half = carriers.rows.size
    spectrum = np.zeros((TILE, TILE // 2 + 1), dtype=np.complex128)
    spectrum[carriers.rows, carriers.cols] = (values[:half] + 1j * values[half:]) * (TILE**2 / 2.0)
    return np.fft.irfft2(spectrum, s=(TILE, TILE))


def _tiled(tile: np.ndarray, height: int, width: int) -> np.ndarray:
    return np.tile(tile, (-(-height // TILE), -(-width // TILE)))[:height, :width]


def _design_views(luma: np.ndarray) -> list[np.ndarray]:
    """What the reader would fold from this frame as published, center-cropped to 80%, and downscaled, on the render's grid."""
    height, width = luma.shape
    keep = np.sqrt(CROP_VIEW_AREA)
    crop_h, crop_w = round(height * keep), round(width * keep)
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    cropped = _fold(_whiten(luma[top : top + crop_h, left : left + crop_w]))
    views = [
        _fold(_whiten(luma)),
        # The cropped fold starts at (top, left); rolling puts it back on the render's tile grid.
        np.roll(cropped, shift=(top, left), axis=(0, 1)),
    ]
    for factor in DOWNSCALE_VIEWS:
        small = cv2.resize(luma, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_AREA)
        views.append(_fold(_whiten(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR))))
    return views


def _pattern_for(luma: np.ndarray, carriers: _Carriers, target: np.ndarray, fixed: np.ndarray, steps: int) -> np.ndarray:
    """The (H, W) pattern that brings the ``fixed`` carriers to MARGIN on their target side in every view."""
    height, width = luma.shape
    values = np.zeros_like(target)
    # Whitening clips, so the reader sees only part of what is added; each pass
    # measures the real reader on every view and adds what is still missing.
    for _ in range(steps):
        pattern = _tiled(_tile_from(values, carriers), height, width)
        responses = np.stack([_carrier_values(view, carriers) for view in _design_views(luma + pattern)])
        shortfall = (MARGIN - target * responses).max(axis=0)
        values = values + np.where(fixed & (shortfall > 0), target * shortfall, 0.0)
    return _tiled(_tile_from(values, carriers), height, width)


def _pattern_design(luma: np.ndarray, carriers: _Carriers, target: np.ndarray) -> np.ndarray:
    """The strongest-fitting pattern within the PSNR budget: carriers are fixed cheapest first.

    Designed against a few likely copies at once (see _design_views), because a
    crop or a downscale changes which host pixels the reader folds. A carrier's
    cost is how far the host pushes it to the wrong side in its worst view; the
    search finds how far that may go before the pattern would break MIN_PSNR_DB.
    """
    hosts = np.stack([_carrier_values(view, carriers) for view in _design_views(luma)])
    need = (MARGIN - target * hosts).max(axis=0)
    budget = 255.0 * 10 ** (-MIN_PSNR_DB / 20)
    low, high = 0.0, float(need.max())
    for _ in range(REACH_SEARCH_STEPS):
        reach = (low + high) / 2
        pattern = _pattern_for(luma, carriers, target, need <= reach, SEARCH_REFINE_STEPS)
        if np.sqrt(np.mean(np.rint(pattern) ** 2)) <= budget:
            low = reach
        else:
            high = reach
    pattern = _pattern_for(luma, carriers, target, need <= low, REFINE_STEPS)
    # The search ran with fewer refinement passes; trim if the final one overshoots.
    rms = float(np.sqrt(np.mean(np.rint(pattern) ** 2)))
    return pattern * min(1.0, budget / rms) if rms else pattern


class FrameWatermarker:
    """Marks every RGB uint8 frame of one video with the same pattern, designed on its first frame."""

    def __init__(self, serial: int, key: bytes) -> None:
        self.serial = serial
        codeword = bch.encode(payload_bits(serial, key))
        self._carriers = _carriers(key)
        self._target = self._carriers.sign * np.where(self._carriers.bit < 0, 1.0, 2.0 * codeword[self._carriers.bit] - 1.0)
        # The pattern split into what it adds and what it takes away, as uint8 RGB,
        # so marking a frame is two saturating byte operations.
        self._raise: np.ndarray | None = None
        self._lower: np.ndarray | None = None

    def mark(self, frame_rgb: np.ndarray) -> np.ndarray:
        """The watermarked copy of an RGB uint8 frame at least 128 px on a side, the size of the video's first."""
        if frame_rgb.dtype != np.uint8 or frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3:
            raise ValueError(f"expected an RGB uint8 frame, got {frame_rgb.dtype} {frame_rgb.shape}")
        if min(frame_rgb.shape[:2]) < MIN_MARK_SIDE:
            raise ValueError(f"frame {frame_rgb.shape[:2]} is below {MIN_MARK_SIDE} px on a side")
        if self._raise is None or self._lower is None:
            # Rounded once: adding whole levels to uint8 pixels equals rounding the sum.
            pattern = np.rint(_pattern_design(_luma(frame_rgb), self._carriers, self._target))
            # Equal change in R, G and B moves luma only, leaving the colours as they were.
            self._raise = np.repeat(np.clip(pattern, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
            self._lower = np.repeat(np.clip(-pattern, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
        if frame_rgb.shape != self._raise.shape:
            raise ValueError(f"frame {frame_rgb.shape[:2]} differs from the video's {self._raise.shape[:2]}")
        return cv2.subtract(cv2.add(frame_rgb, self._raise), self._lower)


@dataclass(frozen=True)
class WatermarkReading:
    found: bool
    serial: int | None
    # Code bits the error correction had to repair (out of 127); None when nothing decoded.
    bit_errors: int | None
    frames_examined: int
    key_id: int | None = None
    # Size of the copy relative to the render (1.0 = same size) and whether it was mirrored.
    scale: float | None = None
    mirrored: bool | None = None


def _usable_luma(frame: np.ndarray) -> np.ndarray | None:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (3, 4)):
        return None
    if min(frame.shape[:2]) < MIN_READ_SIDE:
        return None
    return _luma(frame)


def _candidate_scales(height: int, width: int, reference_side: int) -> list[float]:
    """Size ratios to undo: none (crops, re-encodes) and a plain resize of a render whose long side was reference_side."""
    scales = [1.0]
    resized = max(height, width) / reference_side
    if abs(resized - 1.0) > 0.01:
        scales.append(resized)
    return scales


def _soft_bits(tile: np.ndarray, carriers: _Carriers) -> list[np.ndarray]:
    """Soft code bits at the cyclic offsets worth decoding: where the pilots peak, and the tile's own origin.

    A copy that was re-encoded or resized but not cropped keeps the render's tile
    grid, so offset (0, 0) is always tried too: on a heavily damaged copy the
    pilots' peak may no longer stand out from the noise of 16384 other offsets.
    """
    spectrum = np.fft.fft2(tile)[carriers.rows, carriers.cols] * (2.0 / TILE**2)
    # Per-carrier whitening: each carrier votes with its sign only, so the
    # carriers the host dominates (large projections) cannot outvote the rest.
    # (Magnitude-weighted votes read fewer code bits right on 25% copies.)
    weighted = spectrum / (np.abs(spectrum) + 1e-9)
    half = carriers.rows.size
    bins = np.concatenate([np.arange(half), np.arange(half)])
    # A carrier at offset o reads Re(conj(part) * value * e^(2 pi i k.o / TILE)):
    # the cosine carrier the real part, the sine carrier the imaginary part.
    part = np.concatenate([np.ones(half), np.full(half, -1j)])
    votes = carriers.sign * part * weighted[bins]
    pilots = carriers.bit < 0
    # The pilots' coherent sum at every cyclic offset is one inverse DFT.
    pilot_spectrum = np.zeros((TILE, TILE), dtype=np.complex128)
    np.add.at(pilot_spectrum, (carriers.rows[bins[pilots]], carriers.cols[bins[pilots]]), votes[pilots])
    evidence = np.fft.ifft2(pilot_spectrum).real
    evidence = (evidence - evidence.mean()) / (evidence.std() + 1e-12)
    best = np.unravel_index(int(np.argmax(evidence)), evidence.shape)
    # Decoding costs ~20 ms, so only offsets where the pilots agree are decoded.
    offsets = [(row, col) for row, col, floor in ((*best, PEAK_Z), (0, 0, ORIGIN_Z)) if evidence[row, col] >= floor]
    offsets = list(dict.fromkeys(offsets))
    soft_bits = []
    for row, col in offsets:
        phase = np.exp(2j * np.pi * (carriers.rows[bins] * row + carriers.cols[bins] * col) / TILE)
        carrier_soft = (votes * phase).real
        soft_bits.append(np.bincount(carriers.bit[~pilots], weights=carrier_soft[~pilots], minlength=bch.N))
    return soft_bits


def _decode(tile: np.ndarray, key: bytes) -> tuple[int, int] | None:
    for soft in _soft_bits(tile, _carriers(key)):
        decoded = bch.decode(soft > 0) or bch.decode_soft(soft)
        serial = _parse(decoded[0], key)
        if serial is not None:
            return serial, decoded[1]
    return None


def watermark_read(
    frames: Iterable[np.ndarray],
    keys: bytes | Sequence[bytes],
    *,
    max_frames: int = 30,
    reference_side: int = 512,
) -> WatermarkReading:
    """Fold up to ``max_frames`` usable frames and decode the payload under any of ``keys`` (current key first)."""
    key_list = [keys] if isinstance(keys, bytes) else list(keys)
    if not key_list:
        raise ValueError("at least one watermark key is needed")
    for key in key_list:
        _require_key(key)
    scales: list[float] = []
    folded: list[np.ndarray] = []
    first_shape: tuple[int, ...] | None = None
    examined = 0

    def attempt() -> WatermarkReading | None:
        for scale, total in zip(scales, folded):
            tile = total / examined
            for mirrored in (False, True):
                # Folding a mirrored frame gives the mirrored fold, up to a cyclic shift the offset search absorbs.
                candidate = tile[:, ::-1] if mirrored else tile
                for key in key_list:
                    decoded = _decode(candidate, key)
                    if decoded is not None:
                        return WatermarkReading(True, decoded[0], decoded[1], examined, key_id(key), round(scale, 4), mirrored)
        return None

    for frame in frames:
        if examined >= max_frames:
            break
        luma = _usable_luma(frame)
        if luma is None:
            continue
        if first_shape is None:
            first_shape = luma.shape
            scales = _candidate_scales(*luma.shape, reference_side)
            folded = [np.zeros((TILE, TILE)) for _ in scales]
        elif luma.shape != first_shape:
            # A video keeps one frame size; a stray frame of another size cannot be folded with the rest.
            continue
        for index, scale in enumerate(scales):
            height, width = luma.shape
            resized = luma if scale == 1.0 else cv2.resize(luma, (round(width / scale), round(height / scale)), interpolation=cv2.INTER_LINEAR)
            folded[index] += _fold(_whiten(resized))
        examined += 1
        if examined in ATTEMPT_AT and (reading := attempt()):
            return reading
    if examined and examined not in ATTEMPT_AT and (reading := attempt()):
        return reading
    return WatermarkReading(False, None, None, examined)
