"""Candor's keyed spread-spectrum watermark: one luma tile per video, repeated over every frame, read by folding."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from . import bch

# The name the C2PA soft-binding assertion and the Soft Binding Resolution API use for this watermark: reversed
# domain, algorithm, version, in the form of the C2PA soft-binding algorithm list (e.g. com.digimarc.validate.1).
ALGORITHM = "org.candor.watermark.2"
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
# pixel at the render's size) that survives a downscale to 25% (which keeps only
# frequencies below 0.125) and H.264 at CRF 35 on a half-size copy (which
# measured weakest above 0.08), while staying out of the lowest frequencies,
# where a portrait's own content is strongest. A 192 px tile puts about 3.4
# carriers on each code bit in that band (a 128 px tile, 1.5), which measured
# better on the damaged copies.
TILE = 192
BAND = (0.035, 0.08)
# Every carrier gets the same amplitude, as much as the PSNR budget allows. The
# rounded pattern's RMS bounds every frame's error (saturation at 0 and 255 only
# shrinks it), so this floor holds for every frame, not just the first. The
# pattern does not depend on the frame: designing it against the first frame
# (informed embedding) gained nothing measurable once the reader rejects the host
# as below, because what a re-encoded or resized copy shows of the host agrees
# only loosely (correlation 0.3 to 0.7) with what the embedder can predict.
MIN_PSNR_DB = 40.05
# Host rejection before folding. A talking portrait is nearly static, so its own
# texture does not average out over frames. An edge-preserving (bilateral)
# smoothing predicts it: it flattens the mark's low-amplitude ripples but keeps
# the portrait's edges, and only the difference is read. That difference is
# divided by its local RMS (over HOST_ENERGY_SIGMA px, floored at half its mean)
# and clipped at its mean magnitude, so textured regions (hair, fabric, edges)
# count no more than flat skin, where the mark dominates. A copy is whitened at
# its own resolution and only then resampled onto the render's grid: that reads
# 25% and CRF 35 + 50% copies better than whitening an upsampled copy, and one
# whitened sum serves every candidate scale.
HOST_DIAMETER = 5
HOST_SIGMA_LEVELS = 6.0
HOST_SIGMA_PX = 3.0
HOST_ENERGY_SIGMA = 6.0
WHITEN_CLIP = 1.0
# Decoding is attempted after this many frames (and after the last one) so that
# a clean copy stops early while a damaged one accumulates more evidence.
ATTEMPT_AT = (4, 10, 20)
# Carriers with a known sign, for finding where a cropped copy's tile starts.
# Their agreement (z-score over all 36864 cyclic offsets) must reach PEAK_Z at
# the best offset, or ORIGIN_Z at the render's own origin, for a decode to be
# tried. The gate only saves decoding time (unmarked content passes it now and
# then); the payload's 32 check bits are what refuse a false payload.
PILOTS = 64
PEAK_Z = 4.0
ORIGIN_Z = 1.5
# A copy that was cropped and resized has a size that says nothing about its
# scale. The mark's carriers then sit at their render frequencies divided by
# the scale, so the copy's power spectrum is scored at each scale of a
# log-spaced grid (the "comb"), and its strongest peaks are decoded.
COMB_SCALES = np.exp(np.linspace(np.log(0.2), np.log(2.5), 800))
COMB_PADDING = 2
COMB_PEAKS = 3
# A decode tolerates about 0.3% of scale error, a little less than the comb's
# precision on a small copy, so the best peak is also decoded one step either side.
SCALE_STEP = 0.003
# Frames larger than this (an upscaled copy) are first shrunk to it: the mark's
# frequencies survive, and whitening and the comb's FFT stay cheap.
READ_MAX_SIDE = 640

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
    digest = hmac.new(
        key, _DOMAIN + b"/mac" + serial.to_bytes(4, "big") + bytes([key_id(key)]), hashlib.sha256
    ).digest()
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
    if carried_key_id != key_id(key) or not hmac.compare_digest(
        carried_mac.to_bytes(4, "big"), _mac(serial, key).to_bytes(4, "big")
    ):
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
    """(H, W) luma -> what is left after the host is predicted away, clipped (see HOST_DIAMETER)."""
    luma = luma.astype(np.float32, copy=False)
    residual = luma - cv2.bilateralFilter(luma, HOST_DIAMETER, HOST_SIGMA_LEVELS, HOST_SIGMA_PX)
    energy = np.sqrt(cv2.GaussianBlur(residual * residual, (0, 0), HOST_ENERGY_SIGMA))
    normalized = residual / (energy + 0.5 * float(np.mean(energy)) + 1e-6)
    limit = WHITEN_CLIP * float(np.mean(np.abs(normalized))) + 1e-6
    return np.clip(normalized, -limit, limit)


def _at_reference(image: np.ndarray, scale: float) -> np.ndarray:
    """An (H, W) image of a copy at ``scale`` times the render's size, resampled onto the render's pixel grid."""
    if scale == 1.0:
        return image
    height, width = image.shape
    return cv2.resize(image, (round(width / scale), round(height / scale)), interpolation=cv2.INTER_LINEAR)


def _fold(image: np.ndarray) -> np.ndarray:
    """The mean of all TILE x TILE periods of an (H, W) image, partial periods at the edges included.

    Summed period by period into one tile: a padded float64 copy of the image would be memory the analysis child
    touches for the first time (a frame enlarged to 1600x1200 makes 15 MB of it), which costs more than the sums.
    """
    height, width = image.shape
    total = np.zeros((TILE, TILE), dtype=np.float64)
    for top in range(0, height, TILE):
        for left in range(0, width, TILE):
            period = image[top : top + TILE, left : left + TILE]
            total[: period.shape[0], : period.shape[1]] += period
    # How many periods cover each row and each column of the tile.
    rows = np.bincount(np.arange(height) % TILE, minlength=TILE)
    cols = np.bincount(np.arange(width) % TILE, minlength=TILE)
    return total / np.maximum(np.outer(rows, cols), 1)


def _tile_from(values: np.ndarray, carriers: _Carriers) -> np.ndarray:
    """The TILE x TILE pattern whose carriers have these amplitudes (cosine parts, then sine parts)."""
    half = carriers.rows.size
    spectrum = np.zeros((TILE, TILE // 2 + 1), dtype=np.complex128)
    spectrum[carriers.rows, carriers.cols] = (values[:half] + 1j * values[half:]) * (TILE**2 / 2.0)
    return np.fft.irfft2(spectrum, s=(TILE, TILE))


def _pattern(tile: np.ndarray, height: int, width: int) -> np.ndarray:
    """The tile repeated over an (H, W) frame, in whole luma levels, as strong as MIN_PSNR_DB allows."""
    tiled = np.tile(tile, (-(-height // TILE), -(-width // TILE)))[:height, :width]
    budget = 255.0 * 10 ** (-MIN_PSNR_DB / 20)
    # Rounding changes the RMS a little; bisection finds the largest gain whose
    # rounded pattern still fits the budget.
    low, high = 0.0, 2.0 * budget / float(np.sqrt(np.mean(tiled**2)))
    for _ in range(20):
        gain = (low + high) / 2
        if np.sqrt(np.mean(np.rint(gain * tiled) ** 2)) <= budget:
            low = gain
        else:
            high = gain
    return np.rint(low * tiled)


class FrameWatermarker:
    """Marks every RGB uint8 frame of one video with the same pattern, sized on its first frame."""

    def __init__(self, serial: int, key: bytes) -> None:
        self.serial = serial
        codeword = bch.encode(payload_bits(serial, key))
        carriers = _carriers(key)
        target = carriers.sign * np.where(carriers.bit < 0, 1.0, 2.0 * codeword[carriers.bit] - 1.0)
        self._tile = _tile_from(target, carriers)
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
            pattern = _pattern(self._tile, *frame_rgb.shape[:2])
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
    """Size ratios to undo: none (crops, re-encodes) and a plain resize of a render whose long side was
    reference_side.
    """
    scales = [1.0]
    resized = max(height, width) / reference_side
    if abs(resized - 1.0) > 0.01:
        scales.append(resized)
    return scales


def _band_power(image: np.ndarray) -> np.ndarray:
    """The zero-padded power spectrum (rfft layout) of an (H, W) image over its mean at the same radius.

    Dividing out the radial mean keeps the host's steep fall-off with frequency
    from favouring whichever scale puts the carriers lowest.
    """
    height, width = image.shape
    size = (COMB_PADDING * height, COMB_PADDING * width)
    power = np.abs(np.fft.rfft2(image - image.mean(), s=size)) ** 2
    radius = np.hypot(np.fft.fftfreq(size[0])[:, None], np.fft.rfftfreq(size[1])[None, :])
    ring = np.minimum((radius * 256).astype(np.int64), 127)
    counts = np.bincount(ring.ravel(), minlength=128)
    profile = np.bincount(ring.ravel(), weights=power.ravel(), minlength=128) / np.maximum(counts, 1)
    return power / (profile[ring] + 1e-12)


def _comb_scales(power: np.ndarray, padded_width: int, carriers: _Carriers) -> list[float]:
    """The COMB_PEAKS scales at which the carriers' frequencies hold the most power, best first."""
    padded_height = power.shape[0]
    rows = np.where(carriers.rows > TILE // 2, carriers.rows - TILE, carriers.rows).astype(np.float64)
    cols = carriers.cols.astype(np.float64)
    period = TILE * COMB_SCALES[:, None]
    # The smallest scale keeps the band's top below the copy's Nyquist frequency,
    # so every column index falls inside the rfft's half spectrum.
    row_index = np.rint(rows[None, :] / period * padded_height).astype(np.int64)
    col_index = np.rint(cols[None, :] / period * padded_width).astype(np.int64)
    # A mirrored copy has its carriers at (row, -col), which a real image's
    # spectrum holds at (-row, col).
    score = np.maximum(
        power[row_index % padded_height, col_index].mean(axis=1),
        power[-row_index % padded_height, col_index].mean(axis=1),
    )
    peaks = np.flatnonzero((score[1:-1] > score[:-2]) & (score[1:-1] >= score[2:])) + 1
    step = np.log(COMB_SCALES[1] / COMB_SCALES[0])
    scales = []
    for index in peaks[np.argsort(-score[peaks])][:COMB_PEAKS]:
        # The peak between grid points, from a parabola through its neighbours.
        left, middle, right = score[index - 1], score[index], score[index + 1]
        curvature = left - 2 * middle + right
        offset = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
        scales.append(float(COMB_SCALES[index] * np.exp(offset * step)))
    return scales


def _soft_bits(tile: np.ndarray, carriers: _Carriers) -> list[np.ndarray]:
    """Soft code bits at the cyclic offsets worth decoding: where the pilots peak, and the tile's own origin.

    A copy that was re-encoded or resized but not cropped keeps the render's tile
    grid, so offset (0, 0) is always tried too: on a heavily damaged copy the
    pilots' peak may no longer stand out from the noise of all the other offsets.
    """
    spectrum = np.fft.fft2(tile)[carriers.rows, carriers.cols] * (2.0 / TILE**2)
    # Per-carrier whitening: each carrier votes with its phase only, so the
    # carriers the host dominates (large projections) cannot outvote the rest.
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
    # Decoding costs several milliseconds, so only offsets where the pilots agree are decoded.
    offsets = [(row, col) for row, col, floor in ((*best, PEAK_Z), (0, 0, ORIGIN_Z)) if evidence[row, col] >= floor]
    offsets = list(dict.fromkeys(offsets))
    soft_bits = []
    for row, col in offsets:
        phase = np.exp(2j * np.pi * (carriers.rows[bins] * row + carriers.cols[bins] * col) / TILE)
        carrier_soft = (votes * phase).real
        soft_bits.append(np.bincount(carriers.bit[~pilots], weights=carrier_soft[~pilots], minlength=bch.N))
    return soft_bits


def _decode(tile: np.ndarray, key: bytes) -> tuple[int, int] | None:
    """(serial, corrected code bits) when the folded tile holds a payload valid under ``key``."""
    for soft in _soft_bits(tile, _carriers(key)):
        decoded = bch.decode((soft > 0).astype(np.uint8)) or bch.decode_soft(soft)
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
    attempt_at: Sequence[int] = ATTEMPT_AT,
) -> WatermarkReading:
    """Fold up to ``max_frames`` usable frames and decode the payload under any of ``keys`` (current key first).

    Decoding is attempted after each count of frames in ``attempt_at`` and after the last frame: ``(max_frames,)``
    reads all the frames once, for a caller that mostly reads videos without the mark (a decode attempt costs about as
    much as folding ten frames).
    """
    key_list = [keys] if isinstance(keys, bytes) else list(keys)
    if not key_list:
        raise ValueError("at least one watermark key is needed")
    for key in key_list:
        _require_key(key)
    scales: list[float] = []
    total: np.ndarray | None = None
    first_shape: tuple[int, ...] | None = None
    examined = 0

    shrink = 1.0

    def decoded_at(mean: np.ndarray, scale: float) -> WatermarkReading | None:
        tile = _fold(_at_reference(mean, scale))
        for mirrored in (False, True):
            # Folding a mirrored frame gives the mirrored fold, up to a cyclic shift the offset search absorbs.
            candidate = tile[:, ::-1] if mirrored else tile
            for key in key_list:
                decoded = _decode(candidate, key)
                if decoded is not None:
                    return WatermarkReading(
                        True, decoded[0], decoded[1], examined, key_id(key), round(scale * shrink, 4), mirrored
                    )
        return None

    def attempt(mean: np.ndarray) -> WatermarkReading | None:
        for scale in scales:
            if reading := decoded_at(mean, scale):
                return reading
        power = _band_power(mean)
        tried = list(scales)
        for key in key_list:
            peaks = _comb_scales(power, COMB_PADDING * mean.shape[1], _carriers(key))
            if peaks:
                peaks[1:1] = [peaks[0] * (1 - SCALE_STEP), peaks[0] * (1 + SCALE_STEP)]
            for scale in peaks:
                if all(abs(scale / done - 1.0) > SCALE_STEP / 2 for done in tried):
                    tried.append(scale)
                    if reading := decoded_at(mean, scale):
                        return reading
        return None

    for frame in frames:
        if examined >= max_frames:
            break
        luma = _usable_luma(frame)
        if luma is None:
            continue
        if first_shape is None:
            first_shape = luma.shape
            shrink = max(1.0, max(luma.shape) / READ_MAX_SIDE)
            scales = [scale / shrink for scale in _candidate_scales(*luma.shape, reference_side)]  # type: ignore[call-arg]  # a 2-D luma
        elif luma.shape != first_shape:
            # A video keeps one frame size; a stray frame of another size cannot be folded with the rest.
            continue
        if shrink > 1.0:
            luma = cv2.resize(
                luma, (round(luma.shape[1] / shrink), round(luma.shape[0] / shrink)), interpolation=cv2.INTER_AREA
            )
        if total is None:
            total = np.zeros(luma.shape, dtype=np.float32)
        # Resampling is linear, so the mean of the whitened frames, resampled once
        # per candidate scale, stands for all of them.
        total += _whiten(luma)
        examined += 1
        if examined in attempt_at and (reading := attempt(total / examined)):
            return reading
    if total is not None and examined not in attempt_at and (reading := attempt(total / examined)):
        return reading
    return WatermarkReading(False, None, None, examined)
