"""The colour-flash (photometric) challenge: the page lights the face with a random colour sequence; a real face in
front of the screen reflects it, a replayed or prepared video does not.

Model. A surface of albedo rho lit by the room (irradiance E) and the screen (irradiance k * E * c, c the screen's
colour in linear RGB) shows rho * E * (1 + k * c). In log-chroma, log(R/G) and log(B/G) of a region's mean colour,
the albedo and the exposure cancel and the flash moves the region by about k * (c_R - c_G, c_B - c_G): the same shape
for every skin tone, with an amplitude k that is the screen's light as a share of the room's on that surface. The
face, at arm's length from the screen, gets far more of it than a wall behind the person (inverse square of the
distance); a tint added to the whole picture, or a white-balance change, moves both alike.

`flash_response` correlates the skin's log-chroma with that expected shape over lags of 0..FLASH_MAX_LAG_S, and
compares the background's amplitude at the same lag with the face's.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

# Saturated screen colours: their log-chroma shapes (c_R - c_G, c_B - c_G) are the six corners of a hexagon, so any
# two differ on at least one axis by 1.
FLASH_COLOURS = ("#ff0000", "#00ff00", "#0000ff", "#ffff00", "#ff00ff", "#00ffff")
FLASH_MIN_COLOURS, FLASH_MAX_COLOURS = 3, 5
FLASH_MIN_MS, FLASH_MAX_MS = 300, 500
# The reflection starts this long after the flash is revealed to the page at the latest: the page's next paint, the
# screen's response and the camera's exposure and buffering (a webcam pipeline adds 0.1-0.3 s, a slow browser more).
FLASH_MAX_LAG_S = 0.7
# Lags are tried in steps of a third of a 15 fps frame interval.
LAG_STEP_S = 1 / 45
# Frames before the flash (its baseline) and after its last colour (plus the lag) that enter the correlation.
BASELINE_S = 0.5
# Thresholds, from `python -m benchmarks.flash --trials 20` on simulated captures of the two test photos
# (docs/consent.md, "Colour flash"):
# - the mean per-axis correlation at the best lag: captures without a flash or a second late reached at most 0.44,
#   a guessed sequence with the right timing 0.80 once in 20; a flash adding 0.01 of its colour to the skin measured
#   0.83 or more, 0.005 a median of 0.70;
FACE_MIN_CORRELATION = 0.8
# - the background's amplitude as a share of the face's: a tint or re-lighting of the whole picture measured 0.87-1.0;
#   a wall that gets a tenth of the face's screen light (three times the face's distance from the screen) about 0.1,
#   half of it 0.56.
BACKGROUND_MAX_SHARE = 0.4
# A flash needs most of its frames with a face, and a background beside the face to compare against.
MIN_FACE_SHARE = 0.8
MIN_BACKGROUND_SHARE = 0.02


@dataclass(frozen=True)
class FlashResponse:
    """How the capture's face and background followed the flash; `passed` when the face reflected it."""

    face_correlation: float  # mean over the two log-chroma axes of the Pearson correlation, at the best lag
    background_correlation: float  # the same for the background, at the face's best lag
    background_share: float  # the background's response amplitude as a share of the face's
    lag_s: float  # the best lag after the reveal
    passed: bool
    detail: str

    def as_record(self) -> dict:
        return {
            "passed": self.passed,
            "face_correlation": round(self.face_correlation, 3),
            "background_correlation": round(self.background_correlation, 3),
            "background_share": round(self.background_share, 3),
            "lag_s": round(self.lag_s, 3),
            "detail": self.detail,
        }


def flash_sequence_new(rng: random.Random) -> tuple[list[str], list[int]]:
    """3-5 colours from FLASH_COLOURS, none twice in a row, and how long each shows (300-500 ms, in 10 ms steps).

    The colours must move both log-chroma axes: red and cyan alone (or blue and yellow) leave one axis still, and a
    correlation over an axis that never moves proves nothing, so such a draw is drawn again.
    """
    while True:
        colours = [rng.choice(FLASH_COLOURS)]
        for _ in range(rng.randint(FLASH_MIN_COLOURS, FLASH_MAX_COLOURS) - 1):
            colours.append(rng.choice([colour for colour in FLASH_COLOURS if colour != colours[-1]]))
        shapes = np.array([[c[0] - c[1], c[2] - c[1]] for c in map(colour_linear, colours)])
        if np.all(np.abs(shapes).max(axis=0) > 0.5):
            break
    durations = [rng.randrange(FLASH_MIN_MS, FLASH_MAX_MS + 1, 10) for _ in colours]
    return colours, durations


def colour_linear(colour: str) -> np.ndarray:
    """'#rrggbb' -> (3,) linear-light RGB in 0..1 (the sRGB transfer curve undone)."""
    srgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float64) / 255
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def flash_expected(
    times: np.ndarray, *, colours: Sequence[str], durations_ms: Sequence[int], start_s: float
) -> np.ndarray:
    """(n, 2) log-chroma shape (c_R - c_G, c_B - c_G) of the screen's colour at each time; 0 outside the flash."""
    shapes = np.array([[c[0] - c[1], c[2] - c[1]] for c in map(colour_linear, colours)])
    ends = start_s + np.cumsum(durations_ms) / 1000
    index = np.searchsorted(ends, times, side="right")
    inside = (times >= start_s) & (index < len(colours))
    expected = np.zeros((len(times), 2))
    expected[inside] = shapes[index[inside]]
    return expected


def _regions(landmarks: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """uint8 masks of the skin (both cheeks and the forehead, inset from eyes, mouth, jaw line and hair) and of the
    background beside and above the head.
    """
    height, width = shape[:2]
    eyes = np.linalg.norm(landmarks[42:48].mean(axis=0) - landmarks[36:42].mean(axis=0))
    cheeks = [landmarks[[1, 4, 48, 31, 41]], landmarks[[15, 12, 54, 35, 46]]]
    brows = landmarks[[19, 24]]
    forehead = np.vstack([brows - [0, 0.25 * eyes], brows[::-1] - [0, 0.6 * eyes]])
    skin = np.zeros((height, width), np.uint8)
    for polygon in [*cheeks, forehead]:
        # Inset towards the polygon's centre, away from its edges (eyes, mouth, jaw line, hairline).
        inset = polygon.mean(axis=0) + 0.7 * (polygon - polygon.mean(axis=0))
        cv2.fillPoly(skin, [np.round(inset).astype(np.int32)], 1)
    face_width = landmarks[16, 0] - landmarks[0, 0]
    left = int(landmarks[0, 0] - 0.6 * face_width)
    right = int(np.ceil(landmarks[16, 0] + 0.6 * face_width))
    chin = int(landmarks[8, 1])
    head_top = int(landmarks[17:27, 1].min() - 0.9 * face_width)
    background = np.zeros((height, width), np.uint8)
    # Beside the head down to the chin (below it are neck, shoulders and clothes, close to the screen), and above it.
    background[: max(chin, 0), : max(left, 0)] = 1
    background[: max(chin, 0), max(right, 0) :] = 1
    background[: max(head_top, 0), :] = 1
    return skin, background


def _log_chroma(frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    red, green, blue, _ = cv2.mean(frame, mask=mask)
    return np.log(np.array([red + 1.0, blue + 1.0])) - np.log(green + 1.0)


def _residual(series: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """series (n, k) less its least-squares fit on basis (n, m): the mean and a slow drift removed."""
    fit, *_ = np.linalg.lstsq(basis, series, rcond=None)
    return series - basis @ fit


def _correlation(observed: np.ndarray, expected: np.ndarray) -> float:
    """Mean over axes of Pearson's r between residual series (n, 2); an axis without variation counts 0."""
    numerator = (observed * expected).sum(axis=0)
    denominator = np.sqrt((observed**2).sum(axis=0) * (expected**2).sum(axis=0))
    return float(np.mean(np.divide(numerator, denominator, out=np.zeros(2), where=denominator > 0)))


def _amplitude(observed: np.ndarray, expected: np.ndarray) -> float:
    """Least-squares gain of the observed response on the expected one, both axes together."""
    return float((observed * expected).sum() / max((expected**2).sum(), 1e-12))


def flash_response(
    frames: Sequence[np.ndarray],
    times: np.ndarray,
    landmarks: Sequence[np.ndarray | None],
    *,
    colours: Sequence[str],
    durations_ms: Sequence[int],
    start_s: float,
) -> FlashResponse:
    """Whether the face in a capture reflected the flash revealed at media time start_s.

    frames: RGB uint8 (H, W, 3); times: (n,) their media times in seconds; landmarks: the face's (68, 2) dlib
    landmarks in each frame, or None where no face was found. Only the frames from BASELINE_S before the reveal to
    BASELINE_S after the last colour (plus FLASH_MAX_LAG_S) are read.
    """
    times = np.asarray(times, dtype=np.float64)
    end_s = start_s + sum(durations_ms) / 1000 + FLASH_MAX_LAG_S + BASELINE_S
    window = [int(i) for i in np.flatnonzero((times >= start_s - BASELINE_S) & (times <= end_s)) if i < len(frames)]
    faces_seen = [(i, points) for i in window if (points := landmarks[i]) is not None]
    if not window or len(faces_seen) < MIN_FACE_SHARE * len(window):
        detail = f"a face was seen in {len(faces_seen)} of the flash's {len(window)} frames"
        return FlashResponse(0.0, 0.0, 0.0, 0.0, False, detail)
    # A frame whose face leaves no background beside it (a head nodding back from a turn as the baseline starts
    # widens the face's outline for a frame or two) has nothing to compare with, so it is left out like a frame
    # without a face; most frames must still have both.
    seen, skin_series, background_series = [], [], []
    for index, points in faces_seen:
        skin, background = _regions(points, frames[index].shape)
        if background.mean() >= MIN_BACKGROUND_SHARE:
            seen.append(index)
            skin_series.append(_log_chroma(frames[index], skin))
            background_series.append(_log_chroma(frames[index], background))
    if len(seen) < MIN_FACE_SHARE * len(window):
        detail = f"the face fills the picture: no background beside it in {len(window) - len(seen)} of {len(window)}"
        return FlashResponse(0.0, 0.0, 0.0, 0.0, False, f"{detail} frames of the flash")
    seen_times = times[seen]
    basis = np.column_stack([np.ones(len(seen)), seen_times - seen_times.mean()])
    skin_residual = _residual(np.array(skin_series), basis)
    background_residual = _residual(np.array(background_series), basis)
    best = (-np.inf, 0.0, np.zeros((len(seen), 2)))
    for lag in np.arange(0.0, FLASH_MAX_LAG_S + 1e-9, LAG_STEP_S):
        expected = _residual(
            flash_expected(seen_times, colours=colours, durations_ms=durations_ms, start_s=start_s + lag), basis
        )
        correlation = _correlation(skin_residual, expected)
        if correlation > best[0]:
            best = (correlation, float(lag), expected)
    face_correlation, lag_s, expected = best
    background_correlation = _correlation(background_residual, expected)
    face_amplitude = _amplitude(skin_residual, expected)
    background_share = _amplitude(background_residual, expected) / face_amplitude if face_amplitude > 0 else 0.0
    figures = (
        f"face correlation {face_correlation:.2f} at a lag of {lag_s:.2f} s, "
        f"background {background_correlation:.2f} with {background_share:.2f} of the face's amplitude"
    )
    if face_correlation < FACE_MIN_CORRELATION:
        failure = f"the face did not follow the flash ({figures}; at least {FACE_MIN_CORRELATION} needed)"
    elif background_share > BACKGROUND_MAX_SHARE:
        failure = (
            f"the whole picture followed the flash, not the face alone ({figures}; at most {BACKGROUND_MAX_SHARE})"
        )
    else:
        return FlashResponse(
            face_correlation,
            background_correlation,
            background_share,
            lag_s,
            True,
            f"the face reflected the flash ({figures})",
        )
    return FlashResponse(face_correlation, background_correlation, background_share, lag_s, False, failure)
