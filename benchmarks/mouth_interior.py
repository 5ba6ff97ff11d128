"""What a viewer sees inside an open mouth, measured on a rendered frame: teeth, their edge, the cavity's depth.

Given the opening's inner lip edges (from any landmark model: the engine's own
rig in fast tests, the judge's face mesh in the benchmark), each pixel between
them is read as teeth (light and nearly colourless against the skin) or
cavity. The measures turn "no jagged teeth, no notch, no black hole" into
numbers:

- teeth_edge_roughness: the upper teeth's top (where the lip covers them) and
  lower edge, found down each column of the opening's middle as the ends of its
  longest run of teeth, against parabolas fitted to them: the largest
  deviation, in px, of their running median over a tenth of the mouth's width
  (about a tooth). A jagged edge or a notch of lip or shadow in the teeth
  deviates; smooth edges and the gaps between single teeth do not.
- teeth_width: the share of the mouth's width over which the upper teeth show.
- lower_teeth: the share of the middle columns with teeth in the opening's
  lower third.
- cavity_lightness: mean CIELAB lightness of the non-teeth pixels, against the
  skin's; black_share: the share of them darker than a tenth of the skin.
- cavity_depth: lightness just inside the lips over lightness at the opening's
  core (the throat): above 1 when the inside is lit at the front and dark at
  the back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np

# Teeth: nearly colourless (chroma under this share of the skin's) and at least this light against the skin.
TEETH_CHROMA, TEETH_LIGHTER = 0.6, 0.7
BLACK = 0.1  # of the skin's lightness
_MIDDLE = 0.5  # the share of the opening's width whose columns are read for edges
_ABOVE = 0.05  # mouth widths above the upper lip's edge where the teeth's top is looked for
_TOOTH = 0.1  # of the mouth's width: narrower features of an edge are single teeth
_EDGE_COLUMNS = 0.5  # the share of the middle columns that must show upper teeth for their edges to be read
_FRONT = 0.3  # the share of each column's half-height counted as just inside the lips


@dataclass(frozen=True)
class Interior:
    """An open mouth in one frame (see the module's docstring); nan where nothing could be read."""

    gap: float  # the opening's height at its middle, in mouth widths
    width: float  # the mouth's width, px
    teeth_edge_roughness: float  # px
    teeth_width: float
    lower_teeth: float
    cavity_lightness: float
    black_share: float
    cavity_depth: float


def interior(
    frame: np.ndarray, upper: np.ndarray, lower: np.ndarray, skin_lightness: float, skin_chroma: float
) -> Interior:
    """Measure the opening between the inner lip edges upper (S, 2) and lower (T, 2) (image px, left to right, each
    from corner to corner) in frame (H, W, 3) uint8 RGB. skin_lightness, skin_chroma: the face's CIELAB L and chroma
    (8-bit scale)."""
    lab = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2LAB).astype(np.float32)
    left, right = min(upper[0, 0], lower[0, 0]), max(upper[-1, 0], lower[-1, 0])
    width = float(right - left)
    xs = np.arange(int(np.ceil(left)), int(np.floor(right)) + 1)
    tops = np.interp(xs, upper[:, 0], upper[:, 1])
    bottoms = np.interp(xs, lower[:, 0], lower[:, 1])
    middle = np.abs(xs - (left + right) / 2) <= _MIDDLE * width / 2
    centre = int(np.argmin(np.abs(xs - (left + right) / 2)))
    # Looked for from above the highest lip edge of the middle, so that a lip edge that sags is no start.
    highest = float(tops[middle].min()) if middle.any() else float(tops.min())
    ends: list[tuple[int, float, float]] = []  # per middle column: x, the upper teeth's top and lower edge
    teeth_columns, lower_columns, cavity, front, core = [], [], [], [], []
    for x, top, bottom, in_middle in zip(xs, tops, bottoms, middle, strict=True):
        # Whole pixels strictly between the lips (the lips' own edge pixels are lip).
        rows = np.arange(int(np.floor(top)) + 1, int(np.ceil(bottom)))
        if len(rows) < 2:
            continue
        pixels = lab[rows, x]
        teeth = _teeth(pixels, skin_lightness, skin_chroma)
        half = (bottom - top) / 2
        upper_half = rows < top + half
        if teeth[upper_half].any():
            teeth_columns.append(x)
        if in_middle:
            lower_columns.append(bool(teeth[rows > bottom - 2 * half / 3].any()))
            # The upper teeth: the longest run of teeth down to the opening's middle.
            above = np.arange(int(np.floor(highest - _ABOVE * width)), int(top + half))
            run = _longest_run(_teeth(lab[above, x], skin_lightness, skin_chroma))
            if run is not None:
                ends.append((x, above[run[0]] - 0.5, above[run[1]] + 0.5))
        light = pixels[~teeth, 0]
        cavity.extend(light)
        near = np.minimum(rows - top, bottom - rows) / max(half, 1.0)
        front.extend(pixels[~teeth & (near <= _FRONT), 0])
        core.extend(pixels[~teeth & (near > 1 - _FRONT), 0])
    roughness = float("nan")
    if len(ends) >= max(_EDGE_COLUMNS * middle.sum(), 5):
        found = np.array(ends)
        roughness = max(_off_parabola(found[:, 0], found[:, 1], width), _off_parabola(found[:, 0], found[:, 2], width))
    cavity_light = np.array(cavity, np.float32)
    return Interior(
        gap=float(bottoms[centre] - tops[centre]) / width,
        width=width,
        teeth_edge_roughness=roughness,
        teeth_width=(max(teeth_columns) - min(teeth_columns) + 1) / width if teeth_columns else 0.0,
        lower_teeth=float(np.mean(lower_columns)) if lower_columns else float("nan"),
        cavity_lightness=float(cavity_light.mean()) / skin_lightness if cavity_light.size else float("nan"),
        black_share=float(np.mean(cavity_light < BLACK * skin_lightness)) if cavity_light.size else float("nan"),
        cavity_depth=float(np.mean(front)) / max(float(np.mean(core)), 1.0) if front and core else float("nan"),
    )


def _teeth(pixels: np.ndarray, skin_lightness: float, skin_chroma: float) -> np.ndarray:
    """(n,) bool: which CIELAB pixels (n, 3) (8-bit scale) look like teeth against the skin."""
    chroma = np.hypot(pixels[:, 1] - 128, pixels[:, 2] - 128)
    return cast(np.ndarray, (chroma < TEETH_CHROMA * skin_chroma) & (pixels[:, 0] > TEETH_LIGHTER * skin_lightness))


def _longest_run(flags: np.ndarray) -> tuple[int, int] | None:
    """First and last index of the longest run of True in flags (n,), None when there is none."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    if not edges.size:
        return None
    starts, stops = edges[::2], edges[1::2]
    longest = int(np.argmax(stops - starts))
    return int(starts[longest]), int(stops[longest] - 1)


def _off_parabola(xs: np.ndarray, ys: np.ndarray, width: float) -> float:
    """The largest distance (px) of points (xs, ys) from the parabola fitted to them, over a running median of
    _TOOTH mouth widths (width, px): the gap between two teeth or their rounded tips is no notch."""
    reach = max(int(_TOOTH * width) // 2, 1)
    smoothed = np.array([np.median(ys[max(i - reach, 0) : i + reach + 1]) for i in range(len(ys))])
    return float(np.abs(np.polyval(np.polyfit(xs, smoothed, 2), xs) - smoothed).max())
