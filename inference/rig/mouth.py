"""The mouth: parted lips refined and closed in the photo, and what the renderer paints between them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
from scipy.ndimage import median_filter
from scipy.spatial import Delaunay

from .geometry import FaceAxes, barycentric, bounding_box, frozen
from .mesh import MESH_LANDMARKS, PARTED_PX, FaceMesh, inner_lip_xs, lip_contour

# Where closed lips meet they shade each other: the crease between them is
# the lips' own colour darkened and deepened.
_CREASE_SHADE, _CREASE_DEEPEN = 0.7, 1.5
# The inner edges of parted lips are found in each column of the mesh's lips
# (see inner_lips_refined) in steps of _EDGE_STEP_PX on the image blurred by
# _EDGE_BLUR_PX (Gaussian sigma): a lip ends where its colour changes by at
# least _EDGE_CONTRAST (CIELAB units, 8-bit scale), or half its contrast with
# the opening, for _LIP_RUN_PX. The opening's colours are the means of its
# lightest and darkest _OPENING_SHARE. The edge is placed where the colour
# has gone _EDGE_SHARE of the way from the lip's to what lies past it: short
# of halfway, so that the blend between lip and teeth (a soft photo's, or one
# enlarged for rendering) stays off the lip, and closed lips meet without a
# light fringe that reads as a gap once the head turns.
_EDGE_STEP_PX, _EDGE_BLUR_PX = 0.25, 0.7
_EDGE_SHARE = 0.4
_EDGE_CONTRAST = 12.0
_LIP_RUN_PX = 1.5
# Upper teeth: where the photo does not show them, their edge hangs this far
# (mouth widths) below the resting lip line, along a parabola fitted to it.
# The photo's own upper teeth are kept when they show (lighter than the lips,
# nearly colourless) at least this tall (px) in this share of the columns of
# the opening's middle; their edge is a parabola fitted to where they end.
_TEETH_BELOW_LIP = 0.09
# The photo's teeth are no darker than its lips (by this much, L on the 8-bit scale) and less colourful than this
# share of the lips' chroma.
_TEETH_LIGHTER, _TEETH_CHROMA = 0.0, 0.6
_PHOTO_TEETH_MIN_PX, _PHOTO_TEETH_COLUMNS = 1.5, 0.6
_PHOTO_TEETH_MIDDLE = 0.6  # the share of the opening's width whose columns are read
# The inside of the mouth and the tongue: the lips' hue, darkened. The
# cavity's lightness (CIELAB L) follows the face's light, not the lips' (dark
# lips made a black hole of it): just inside the lips and at the throat it is
# these shares of the skin's. The skin's lightness is read on the lighter half
# of the cheeks and nose, since a beard or stubble there is darker than skin.
_CAVITY_OF_LIP = np.array([0.42, 0.26, 0.26])
_CAVITY_FRONT_OF_SKIN, _CAVITY_THROAT_OF_SKIN = 0.33, 0.15
_SKIN_LIGHT_PERCENTILE = 75
_TONGUE_OF_LIP = np.array([0.7, 0.5, 0.5])
_OPENING_SHARE = 0.15
# Teeth and cavity colours: teeth take the light of the photo's eye whites
# (or its own teeth), as light as the face's highlights.
_TEETH_LIGHTNESS = 1.05
_TEETH_WARMTH = 0.35
_TEETH_MAX_TINT = 0.1


@dataclass(frozen=True, eq=False)
class InnerMouth:
    """What the renderer paints between parted lips; positions in image px, colours (3,) float32 RGB."""

    polygon_rest: (
        np.ndarray
    )  # (K, 2) float32 cavity polygon at rest: left corner, upper edge, right corner, lower edge back
    polygon_motion: np.ndarray  # (len(FACE_PARAMETERS), K, 2) float32 its motion per face parameter at 1
    upper: np.ndarray  # (S,) int indices of the upper edge in the polygon, left to right
    lower: np.ndarray  # (S,) int indices of the lower edge, left to right
    teeth_edge: np.ndarray  # (S,) float32 image y of the upper teeth's lower edge (a parabola) at the rest x of upper
    photo_teeth: np.ndarray | None  # (H, W) float32 0..1 the photo's own upper teeth; None when it shows none
    photo_parting: float  # px between the lips' middles in the photo (at rest they part at most slightly)
    seam: np.ndarray  # (S + 2, 2) float32 image px, left to right: the line where the rig's lips meet (the warp's step)
    width: float  # mouth width, px
    cavity: np.ndarray  # dark, reddish inside of the mouth just inside the lips
    throat: np.ndarray  # the same, darker, at the back
    teeth: np.ndarray
    tongue: np.ndarray
    crease: (
        np.ndarray | None
    )  # of the line where the lips meet, drawn when they close; None when the photo shows its own


def inner_lips_refined(
    image: np.ndarray, landmarks: np.ndarray, axes: FaceAxes
) -> tuple[np.ndarray, np.ndarray | None]:
    """Landmarks (68, 2) float32 with parted lips' inner points on the lips' edges in image (H, W, 3), and the
    edges: (2, S) y in face axes of the upper and lower lips' inner edges at the mesh's inner lip points
    (mesh.inner_lip_xs), or None when the predictor's lips are not parted.

    The predictor places the inner lip contour of a parted mouth a pixel or
    two off, inside a lip or on the teeth of a photo taken mid-speech, and
    between its points the contour runs straight across the teeth at the
    sides of a smile; closing the lips from there would drop lip with the
    teeth, or leave teeth between the closed lips. In every column of the
    mesh's lips each lip is followed from its middle (between its outer
    contour and the predictor's inner one) towards the opening, to where
    its colour gives way to the opening's (teeth or cavity) for a while.
    """
    local = axes.to_local(landmarks)
    xs = inner_lip_xs(local)
    edges = np.stack([lip_contour(local, "upper_inner", xs), lip_contour(local, "lower_inner", xs)])
    if float((edges[1] - edges[0]).max()) < PARTED_PX:
        return landmarks.copy(), None
    lab = cv2.cvtColor(cv2.GaussianBlur(image, (0, 0), _EDGE_BLUR_PX), cv2.COLOR_RGB2LAB).astype(np.float32)
    opening = _opening_colours(lab, landmarks)
    run = int(np.ceil(_LIP_RUN_PX / _EDGE_STEP_PX))
    middles = (
        (lip_contour(local, "upper_outer", xs) + edges[0]) / 2,
        (lip_contour(local, "lower_outer", xs) + edges[1]) / 2,
    )
    for k, x in enumerate(xs):
        ys = np.arange(middles[0][k], middles[1][k], _EDGE_STEP_PX)
        if len(ys) < 2 * run + 2:
            continue
        colours = _colour_at(lab, axes.to_image(np.stack([np.full(len(ys), x), ys], axis=1)))
        top = _lip_end(colours, opening, run)
        bottom = _lip_end(colours[::-1], opening, run)
        if top is None or bottom is None or top + bottom >= len(ys):
            continue  # the lips touch here, or no lip is seen: keep the predictor's contour
        edges[0, k] = ys[top] - _EDGE_STEP_PX
        edges[1, k] = ys[len(ys) - 1 - bottom] + _EDGE_STEP_PX
    # A column misread (a highlight, a shadowed rim) stands out from its neighbours.
    edges = median_filter(edges, size=(1, 3), mode="nearest")
    refined = landmarks.copy()
    for points, edge in ((slice(61, 64), edges[0]), (slice(65, 68), edges[1])):
        moved = local[points].copy()
        moved[:, 1] = np.interp(moved[:, 0], xs, edge)
        refined[points] = axes.to_image(moved)
    return refined.astype(np.float32), edges


def _opening_colours(lab: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(2, 3) CIELAB of the opening between the predictor's inner lip contours: its lightest (teeth) and darkest
    (cavity) pixels' means, image lab (H, W, 3)."""
    mask = np.zeros(lab.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[60:68]).astype(np.int32)], 1)
    pixels = lab[mask.astype(bool)]
    if len(pixels) < 2:
        return np.full((2, 3), np.nan, np.float32)
    order = np.argsort(pixels[:, 0])
    share = max(int(_OPENING_SHARE * len(pixels)), 1)
    return np.stack([pixels[order[-share:]].mean(axis=0), pixels[order[:share]].mean(axis=0)])


def _lip_end(colours: np.ndarray, opening: np.ndarray, run: int) -> int | None:
    """Index of the first of colours (n, 3) (CIELAB, from a lip's middle towards the opening) that no longer looks
    like the lip, for at least run samples; None if the lip never ends or does not start there.

    Looking like the lip: nearer its colour (its first run samples) than
    half its contrast with the opening's colours (2, 3), and at least
    _EDGE_CONTRAST. The edge is placed where the colour
    has gone _EDGE_SHARE of the way from the lip's to the colour past it.
    """
    lip = colours[:run].mean(axis=0)
    contrast = np.linalg.norm(opening - lip, axis=1)
    if not np.isfinite(contrast).all():
        return None
    limit = max(_EDGE_CONTRAST, float(contrast.min()) / 2)
    distance = np.linalg.norm(colours - lip, axis=1)
    other = distance > limit
    for index in np.flatnonzero(other):
        if index >= run and index + run <= len(colours) and other[index : index + run].all():
            past = min(int(index) + 2 * run, len(colours) - 1)
            return max(int(np.argmax(distance[: past + 1] >= _EDGE_SHARE * distance[past])), run)
    return None


def _colour_at(lab: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(n, 3) float32 colours of an image (H, W, 3) float32 at points (n, 2), bilinearly sampled."""
    maps = np.asarray(points, np.float32).reshape(1, -1, 2)
    return cast(np.ndarray, cv2.remap(lab, maps, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0])


_INSIDE_TOLERANCE = 1e-3  # barycentric: a pixel on a shared edge belongs to both triangles


def close_lips(
    image: np.ndarray, source: np.ndarray, target: np.ndarray, triangles: Delaunay, gap: np.ndarray
) -> np.ndarray:
    """(H, W, 3) uint8 copy of image with each mesh triangle moved from source (n, 2) to target (n, 2) points.

    An exact piecewise-affine forward warp of the few triangles that move
    (those of the lips), so the parted lips meet without sampling the teeth.
    Triangles with every corner in gap (n,) bool span the mouth's opening and
    are left for the lip line to cover.
    """
    height, width = image.shape[:2]
    map_x, map_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    moving = np.any(np.abs(target - source) > 1e-6, axis=1)
    chosen = moving[triangles.simplices].any(axis=1) & ~gap[triangles.simplices].all(axis=1)
    for simplex in triangles.simplices[chosen]:
        src, dst = source[simplex].astype(np.float32), target[simplex].astype(np.float32)
        (ax, ay), (bx, by) = dst[1] - dst[0], dst[2] - dst[0]
        area = abs(float(ax * by - ay * bx))
        if area < 0.5:
            continue  # the closed gap itself: nothing to show
        x, y, w, h = bounding_box(dst, (height, width))
        if not w or not h:
            continue
        mask = np.zeros((h, w), np.uint8)
        cv2.fillConvexPoly(mask, np.round((dst - (x, y)) * 16).astype(np.int32), 1, cv2.LINE_8, 4)
        ys, xs = np.nonzero(mask)
        xs, ys = xs + x, ys + y
        weights = barycentric(dst, np.stack([xs, ys], axis=1).astype(np.float32))
        # The rasterizer also draws pixels up to one outside the triangle, where its map extrapolated: on a sliver
        # (the lips pressed together at a corner) that fetched specks of teeth from pixels away. They are left to
        # the triangle they are in.
        inside = weights.min(axis=1) >= -_INSIDE_TOLERANCE
        map_x[ys[inside], xs[inside]], map_y[ys[inside], xs[inside]] = (weights[inside] @ src).T
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def fill_lip_seam(base: np.ndarray, strip: np.ndarray) -> None:
    """Fill the seam between closed lips from the lips on either side, in place on base (H, W, 3) uint8.

    strip: (K, 2) polygon between the closed inner lip edges, where the
    photo's teeth still show. The renderer draws the lips' crease over it.
    """
    x, y, w, h = bounding_box(np.vstack([strip.min(axis=0) - 3, strip.max(axis=0) + 3]), base.shape[:2])
    if not w or not h:
        return
    seam = (_polygon_mask(base.shape[:2], strip)[y : y + h, x : x + w] > 0).astype(np.uint8)
    base[y : y + h, x : x + w] = cv2.inpaint(
        np.ascontiguousarray(base[y : y + h, x : x + w]), seam, 2, cv2.INPAINT_TELEA
    )


def build_inner_mouth(image: np.ndarray, landmarks: np.ndarray, axes: FaceAxes, mesh: FaceMesh) -> InnerMouth:
    """Cavity polygon and colours of the inside of the mouth."""
    left, right = (MESH_LANDMARKS.index(corner) for corner in (60, 64))
    upper, lower = mesh.upper_inner, mesh.lower_inner
    vertices = np.array([left, *upper, right, *lower[::-1]])
    motions = mesh.motions()
    rest_points = mesh.points + mesh.rest
    polygon = axes.to_image(rest_points[vertices]).astype(np.float32)
    photo = axes.to_image((mesh.points + mesh.photo)[vertices]).astype(np.float32)
    motion = axes.vectors_to_image(motions[:-1][:, vertices]).astype(np.float32)
    n = len(upper)
    lip = _lip_colour(image, landmarks)
    skin_lightness = _skin_lightness(image, landmarks)
    resting_lip = polygon[1 : n + 1]
    edge = _photo_teeth_edge(image, photo, n, lip) if mesh.parted else None
    photo_teeth = None
    if edge is None:
        edge = _parabola(resting_lip)
        edge[-1] += _TEETH_BELOW_LIP * mesh.width
    else:
        photo_teeth = _polygon_mask(image.shape[:2], photo) * _above(image.shape[:2], edge)
    return InnerMouth(
        polygon_rest=frozen(polygon),
        polygon_motion=frozen(motion),
        upper=frozen(np.arange(1, n + 1)),
        lower=frozen(np.arange(len(vertices) - 1, n + 1, -1)),
        teeth_edge=frozen(np.polyval(edge, resting_lip[:, 0]).astype(np.float32)),
        photo_teeth=frozen(photo_teeth) if photo_teeth is not None else None,
        photo_parting=float(np.linalg.norm(photo[1 + n // 2] - photo[len(vertices) - 1 - n // 2])),
        seam=frozen(axes.to_image(_seam(mesh.points, left, upper, right, lower)).astype(np.float32)),
        width=float(mesh.width),
        cavity=frozen(_cavity_colour(lip, _CAVITY_FRONT_OF_SKIN * skin_lightness)),
        throat=frozen(_cavity_colour(lip, _CAVITY_THROAT_OF_SKIN * skin_lightness)),
        teeth=frozen(_teeth_colour(image, landmarks, photo_teeth)),
        tongue=frozen((lip * _TONGUE_OF_LIP).astype(np.float32)),
        crease=frozen((_CREASE_SHADE * lip * (lip / max(float(lip.max()), 1.0)) ** _CREASE_DEEPEN).astype(np.float32))
        if mesh.parted
        else None,
    )


def _seam(points: np.ndarray, left: int, upper: np.ndarray, right: int, lower: np.ndarray) -> np.ndarray:
    """(S + 2, 2) the line between the inner lip edges of the rig's closed mesh (points (n, 2), its corners and
    upper and lower inner edges left to right), where the lips' fields part as the mouth opens."""
    middle = (points[upper] + points[lower]) / 2
    return np.vstack([points[left], middle, points[right]])


def _parabola(points: np.ndarray) -> np.ndarray:
    """(3,) float64 coefficients (highest power first) of the parabola y(x) fitted to points (n >= 3, 2)."""
    return cast(np.ndarray, np.polyfit(points[:, 0].astype(np.float64), points[:, 1].astype(np.float64), 2))


def _teeth_like(colours: np.ndarray, lip: np.ndarray) -> np.ndarray:
    """(n,) bool: which CIELAB colours (n, 3) (8-bit scale) are lighter than the lip lab (3,) and nearly colourless."""
    chroma = np.hypot(colours[:, 1] - 128, colours[:, 2] - 128)
    lip_chroma = float(np.hypot(lip[1] - 128, lip[2] - 128))
    return cast(np.ndarray, (colours[:, 0] > lip[0] + _TEETH_LIGHTER) & (chroma < _TEETH_CHROMA * max(lip_chroma, 1.0)))


def _photo_teeth_edge(image: np.ndarray, polygon: np.ndarray, n_upper: int, lip: np.ndarray) -> np.ndarray | None:
    """(3,) parabola y(x) of the lower edge of the upper teeth in the photo's open mouth, None when too few show.

    polygon: (K, 2) the photo's opening (left corner, n_upper upper-edge points,
    right corner, lower edge back). Down each middle column the teeth run from
    the upper lip's edge while the colour is lighter than the lip and nearly
    colourless. A parabola through where they end, refitted without the columns
    far off it, is the edge: smooth, with no notch where a tooth is chipped or
    the cavity's shadow reaches up between two teeth.
    """
    upper = polygon[1 : n_upper + 1]
    lower = polygon[n_upper + 2 :][::-1]
    left, right = float(polygon[0, 0]), float(polygon[n_upper + 1, 0])
    margin = (1 - _PHOTO_TEETH_MIDDLE) / 2 * (right - left)
    xs = np.arange(int(np.ceil(left + margin)), int(np.floor(right - margin)) + 1)
    if len(xs) < 3:
        return None
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    lip_lab = cv2.cvtColor(lip.reshape(1, 1, 3).astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)[0, 0]
    tops = np.interp(xs, upper[:, 0], upper[:, 1])
    bottoms = np.interp(xs, lower[:, 0], lower[:, 1])
    found = []
    for x, top, bottom in zip(xs, tops, bottoms, strict=True):
        rows = np.arange(np.floor(top), np.ceil(bottom) + 1)
        teeth = _teeth_like(_colour_at(lab, np.column_stack([np.full(len(rows), x), rows])), lip_lab)
        first = np.flatnonzero(teeth[:3])  # the lip's edge may blur into the teeth for a pixel or two
        if not first.size:
            continue
        ends = np.flatnonzero(~teeth[first[0] :])
        end = float(rows[first[0] + ends[0]] if ends.size else rows[-1] + 1) - 0.5
        if end - top >= _PHOTO_TEETH_MIN_PX:
            found.append((x, end))
    if len(found) < max(_PHOTO_TEETH_COLUMNS * len(xs), 3):
        return None
    points = np.array(found, np.float64)
    fit = _parabola(points)
    residual = np.abs(np.polyval(fit, points[:, 0]) - points[:, 1])
    kept = residual <= max(2.0 * float(np.median(residual)), 1.0)
    return _parabola(points[kept]) if kept.sum() >= 3 else fit


def _above(shape: tuple[int, int], edge: np.ndarray) -> np.ndarray:
    """(H, W) float32 coverage 0..1 of the image above the parabola edge (3,), anti-aliased over a pixel."""
    ys = np.arange(shape[0], dtype=np.float32)[:, None]
    line = np.polyval(edge, np.arange(shape[1], dtype=np.float64)).astype(np.float32)
    return cast(np.ndarray, np.clip(line - ys + 0.5, 0.0, 1.0))


def _polygon_mask(shape: tuple[int, int], polygon: np.ndarray) -> np.ndarray:
    """(H, W) float32 anti-aliased coverage 0..1 of a polygon (n, 2) in image pixels."""
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(polygon * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    return mask.astype(np.float32) / 255


def _teeth_colour(image: np.ndarray, landmarks: np.ndarray, photo_teeth: np.ndarray | None) -> np.ndarray:
    """(3,) float32 RGB of teeth lit like this face: the photo's own upper teeth (photo_teeth (H, W) coverage), else
    the tint of its eye whites."""
    if photo_teeth is not None:
        mask = (photo_teeth > 0.5).astype(np.uint8)
    else:
        mask = np.zeros(image.shape[:2], np.uint8)
        for eye in (slice(36, 42), slice(42, 48)):
            cv2.fillPoly(mask, [np.round(landmarks[eye]).astype(np.int32)], 1)
    pixels = image[mask.astype(bool)].astype(np.float32)
    skin = _skin_pixels(image, landmarks)
    highlight = np.percentile(skin.mean(axis=1), 90) if len(skin) else 200.0
    if len(pixels):
        lightness = pixels.mean(axis=1)
        bright = pixels[lightness >= np.percentile(lightness, 75)]
        tint = bright.mean(axis=0)
    else:
        tint = skin.mean(axis=0) if len(skin) else np.full(3, 200.0)
    # Teeth are ivory: nearly neutral under the photo's light, warmed a little
    # by the skin's hue (a flat neutral reads grey-blue beside skin).
    light = tint / max(float(tint.mean()), 1.0)
    warmth = skin.mean(axis=0) / max(float(skin.mean()), 1.0) if len(skin) else np.ones(3)
    hue = np.sqrt(light) * warmth**_TEETH_WARMTH
    hue /= hue.mean()
    # However coloured the light or the sampled whites, enamel stays pale.
    hue = 1 + (hue - 1) * min(1.0, _TEETH_MAX_TINT / max(float(np.abs(hue - 1).max()), 1e-6))
    return cast(np.ndarray, (hue * _TEETH_LIGHTNESS * highlight).clip(0, 255).astype(np.float32))


def _cavity_colour(lip: np.ndarray, lightness: float) -> np.ndarray:
    """(3,) float32 RGB of the inside of the mouth: the hue of the lip colour lip (3,) darkened, at CIELAB lightness
    `lightness` (8-bit scale), its chroma scaled with it."""
    darkened = _lab(lip * _CAVITY_OF_LIP)
    chroma = (darkened[1:] - 128) * lightness / max(float(darkened[0]), 1.0)
    lab = np.concatenate([[lightness], 128 + chroma]).clip(0, 255).reshape(1, 1, 3)
    return cast(np.ndarray, cv2.cvtColor(np.round(lab).astype(np.uint8), cv2.COLOR_LAB2RGB)[0, 0].astype(np.float32))


def _skin_lightness(image: np.ndarray, landmarks: np.ndarray) -> float:
    """CIELAB lightness (8-bit scale) of the skin: its lighter pixels' (a beard is darker than skin)."""
    skin = _skin_pixels(image, landmarks)
    if not len(skin):
        return 128.0
    lab = cv2.cvtColor(skin.reshape(-1, 1, 3).astype(np.uint8), cv2.COLOR_RGB2LAB)
    return float(np.percentile(lab[:, 0, 0], _SKIN_LIGHT_PERCENTILE))


def _lab(rgb: np.ndarray) -> np.ndarray:
    """(3,) float32 CIELAB (8-bit scale) of an RGB colour rgb (3,)."""
    pixel = np.round(np.clip(rgb, 0, 255)).astype(np.uint8).reshape(1, 1, 3)
    return cast(np.ndarray, cv2.cvtColor(pixel, cv2.COLOR_RGB2LAB)[0, 0].astype(np.float32))


def _skin_pixels(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(n, 3) RGB of the cheeks and nose: the skin below the eyes and above the mouth."""
    mask = np.zeros(image.shape[:2], np.uint8)
    region = landmarks[[1, 2, 3, 31, 32, 33, 34, 35, 13, 14, 15, 29]]
    cv2.fillPoly(mask, [np.round(cv2.convexHull(region.astype(np.float32))).astype(np.int32)], 1)
    return cast(np.ndarray, image[mask.astype(bool)].astype(np.float32))


def _lip_colour(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(3,) float32 mean RGB between the outer and inner lip contours."""
    outer = np.round(landmarks[48:60]).astype(np.int32)
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [outer], 1)
    cv2.fillPoly(mask, [np.round(landmarks[60:68]).astype(np.int32)], 0)
    if not mask.any():  # lips thinner than a pixel: take the whole mouth
        cv2.fillPoly(mask, [outer], 1)
    return cast(np.ndarray, image[mask.astype(bool)].mean(axis=0).astype(np.float32))
