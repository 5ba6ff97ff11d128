"""Teeth and the inside of the mouth hold up when the jaw opens wide: smooth teeth, lower teeth, a cavity with depth.

Measured on rendered frames (benchmarks/mouth_interior.py) of two benchmark portraits: a photo taken mid-speech
rendered at 512 px (its predictor's lip contour sags onto the teeth, which drew a notch under them) and a face of
about 110 px cropped from a group photo (its opening was a nearly black hole). Then on a full beard (beard_shadow)
and a closed mouth (closed), where the lower teeth were a sliver the judge read as lip and the beard darkened the
skin the cavity was lit by.
"""

from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks import quality
from benchmarks.mouth_interior import TEETH_CHROMA, TEETH_LIGHTER, Interior, interior
from benchmarks.reference_faces import BENCHMARK_PORTRAITS, reference
from inference import animation
from inference.animation import _drawn_across_seam, render_frame
from inference.rig import FACE_PARAMETERS, portrait_rig

DATA = Path(__file__).resolve().parents[2] / "benchmarks" / "data"
# Wide openings: the jaw at these values opens the mouth by about a third and a half of its width.
WIDE = (0.7, 1.0)
# The widest frame of beard_shadow's Russian benchmark clip (dir-instr, 8 kHz): jaw fully open, lips spread, the head
# turned a little (degrees).
SPREAD_WIDE = {"jaw_open": 1.0, "lip_spread": 0.56, "lip_round": 0.07, "head_roll": 1.41, "head_nod": 1.59}
SPREAD_WIDE |= {"head_yaw": -1.8}


def photo(name: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(DATA / BENCHMARK_PORTRAITS[name][0])), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module", params=["mid_speech", "small_face"])
def rig(request):
    return portrait_rig(photo(request.param))


def skin(rig) -> tuple[float, float]:
    """CIELAB lightness and chroma (medians, 8-bit scale) of the cheeks and nose, between the eyes and the mouth."""
    region = rig.landmarks[[1, 2, 3, 31, 32, 33, 34, 35, 13, 14, 15, 29]]
    mask = np.zeros(rig.image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(cv2.convexHull(region)).astype(np.int32)], 1)
    lab = cv2.cvtColor(rig.image, cv2.COLOR_RGB2LAB)[mask.astype(bool)].astype(float)
    return float(np.median(lab[:, 0])), float(np.median(np.hypot(lab[:, 1] - 128, lab[:, 2] - 128)))


def opened(rig, jaw: float) -> Interior:
    """The inside of the mouth rendered with the jaw open by jaw, between the rig's own inner lip edges."""
    mouth = rig.mouth
    polygon = mouth.polygon_rest + jaw * mouth.polygon_motion[FACE_PARAMETERS.index("jaw_open")]
    corners = polygon[[0, len(mouth.upper) + 1]]
    upper = np.vstack([corners[0], polygon[mouth.upper], corners[1]])
    lower = np.vstack([corners[0], polygon[mouth.lower], corners[1]])
    return interior(render_frame(rig, {"jaw_open": jaw}), upper, lower, *skin(rig))


@pytest.fixture(scope="module")
def wide(rig) -> list[Interior]:
    return [opened(rig, jaw) for jaw in WIDE]


def test_a_wide_opening_is_at_least_a_third_of_the_mouths_width(wide):
    assert all(measured.gap >= 0.3 for measured in wide)


def test_the_upper_teeth_have_smooth_edges_without_a_notch(wide):
    for measured in wide:
        # Found in most middle columns, both edges within a pixel and a half (3% of the mouth) of a parabola.
        assert measured.teeth_edge_roughness <= max(1.5, 0.03 * measured.width)


def test_the_upper_teeth_span_most_of_the_mouth_but_not_its_corners(wide):
    assert all(0.6 <= measured.teeth_width <= 0.9 for measured in wide)


def test_the_lower_teeth_show_when_the_jaw_opens_wide(wide):
    assert all(measured.lower_teeth >= 0.5 for measured in wide)


def test_the_cavity_is_lit_at_the_front_and_dark_at_the_back_not_a_black_hole(wide):
    for measured in wide:
        assert 0.15 <= measured.cavity_lightness <= 0.5  # of the skin's lightness
        assert measured.black_share <= 0.2
        assert measured.cavity_depth >= 1.2


def judged_spread_wide(name: str) -> Interior:
    """A portrait's mouth at SPREAD_WIDE, between the quality judge's face mesh's inner lip contours."""
    rig = portrait_rig(photo(name))
    return quality.mouth_interior(render_frame(rig, SPREAD_WIDE), reference(rig.image))


@pytest.fixture(scope="module")
def bearded_spread_wide(mesh_model) -> Interior:
    return judged_spread_wide("beard_shadow")


def test_a_bearded_face_opening_wide_shows_the_judge_its_lower_teeth(bearded_spread_wide):
    assert bearded_spread_wide.gap >= 0.3
    assert bearded_spread_wide.lower_teeth >= 0.5


def test_a_bearded_face_opening_wide_shows_a_dark_cavity_with_depth_not_a_black_hole(bearded_spread_wide):
    assert bearded_spread_wide.black_share <= 0.2
    assert 0.15 <= bearded_spread_wide.cavity_lightness <= 0.5  # of the skin's lightness: not lifted to grey
    assert bearded_spread_wide.cavity_depth >= 1.2


def test_a_beard_around_the_mouth_does_not_darken_its_inside(mesh_model, bearded_spread_wide):
    # The cavity is lit like the skin; a beard in the cheeks it is read on is not skin. The clean-shaven closed-mouth
    # portrait at the same pose is the yardstick (its black share is a few percent).
    shaven = judged_spread_wide("closed")
    assert bearded_spread_wide.black_share <= shaven.black_share + 0.05


def opening_teeth(rig, jaw: float, half_span: float) -> tuple[np.ndarray, list[tuple[int, int, np.ndarray]]]:
    """The frame rendered with the jaw open by jaw, as CIELAB (H, W, 3) float, and for each column within half_span
    mouth widths of the opening's middle: its x, its first row between the lips, and which of its rows down to the
    lower lip's edge are teeth (benchmarks.mouth_interior's colours)."""
    mouth = rig.mouth
    polygon = mouth.polygon_rest + jaw * mouth.polygon_motion[FACE_PARAMETERS.index("jaw_open")]
    upper, lower = polygon[mouth.upper], polygon[mouth.lower]
    centre = (upper[0, 0] + upper[-1, 0]) / 2
    lightness, chroma = skin(rig)
    lab = cv2.cvtColor(render_frame(rig, {"jaw_open": jaw}), cv2.COLOR_RGB2LAB).astype(float)
    columns = []
    for x in range(int(np.ceil(centre - half_span * mouth.width)), int(centre + half_span * mouth.width) + 1):
        first = int(np.floor(np.interp(x, upper[:, 0], upper[:, 1]))) + 1
        column = lab[first : int(np.ceil(np.interp(x, lower[:, 0], lower[:, 1]))) + 1, x]
        teeth = (np.hypot(column[:, 1] - 128, column[:, 2] - 128) < TEETH_CHROMA * chroma) & (
            column[:, 0] > TEETH_LIGHTER * lightness
        )
        columns.append((x, first, teeth))
    return lab, columns


def lower_teeth_height(rig, jaw: float) -> float:
    """How far (mouth widths) the lower teeth rise over the lower lip in the middle fifth of the opening, rendered
    with the jaw open by jaw: the median over its columns of the run of teeth up from the lip's edge."""
    runs = []
    for _, _, down in opening_teeth(rig, jaw, 0.1)[1]:
        teeth = down[::-1]  # up from the lower lip
        # The lip's own edge may take a pixel or two before the teeth start.
        first = int(np.argmax(teeth[:3])) if teeth[:3].any() else len(teeth)
        runs.append(int(np.argmin(teeth[first:])) if not teeth[first:].all() else len(teeth) - first)
    return float(np.median(runs)) / rig.mouth.width


@pytest.mark.parametrize("name", ["beard_shadow", "closed"])
def test_the_lower_teeth_rise_with_the_opening_to_about_a_tenth_of_the_mouths_width(name):
    rig = portrait_rig(photo(name))
    # Fully open (a third of the mouth's width or more): about a tenth of the mouth's width, half an incisor's crown.
    assert 0.075 <= lower_teeth_height(rig, 1.0) <= 0.15
    # Half open: shorter.
    assert 0.02 <= lower_teeth_height(rig, 0.5) < lower_teeth_height(rig, 1.0)


def lower_teeth_pixels(rig, jaw: float) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """The frame's CIELAB (H, W, 3) float and, per column of the opening's middle two fifths, (x, top, bottom) rows of
    the run of teeth up from the lowest tooth pixel (the upper teeth lie above, past the cavity), rendered with the jaw
    open by jaw."""
    lab, columns = opening_teeth(rig, jaw, 0.2)
    runs = []
    for x, first, teeth in columns:
        rows = np.flatnonzero(teeth)
        if rows.size:
            lowest = rows[-1]
            start = lowest - int(np.argmin(teeth[: lowest + 1][::-1])) + 1 if not teeth[: lowest + 1].all() else 0
            runs.append((x, first + start, first + lowest))
    return lab, runs


def dips(profile: np.ndarray, depth: float = 0.0) -> list[int]:
    """Indices of the profile's local minima (a flat stretch counts at its left end) that lie at least `depth` under
    the highest value within 3 samples either side."""
    return [
        i
        for i in range(1, len(profile) - 1)
        if profile[i] < profile[i - 1]
        and profile[i] <= profile[i + 1]
        and max(profile[max(i - 3, 0) : i + 4]) - profile[i] >= depth
    ]


@pytest.mark.parametrize("name", ["beard_shadow", "closed"])
def test_the_lower_teeth_are_lit_at_their_edge_and_shaded_towards_the_lip(name):
    lab, runs = lower_teeth_pixels(portrait_rig(photo(name)), 1.0)
    tall = [(x, top, bottom) for x, top, bottom in runs if bottom - top >= 4]
    assert len(tall) >= 10
    edge = np.median([lab[top : top + 2, x, 0].mean() for x, top, _ in tall])
    by_lip = np.median([lab[bottom - 1 : bottom + 1, x, 0].mean() for x, _, bottom in tall])
    assert edge - by_lip >= 8, (edge, by_lip)  # CIELAB L, 8-bit scale: a flat band differs by a level or two


@pytest.mark.parametrize("name", ["beard_shadow", "closed"])
def test_the_lower_teeth_show_gaps_between_incisors_narrower_than_the_upper(name):
    rig = portrait_rig(photo(name))
    lab, runs = lower_teeth_pixels(rig, 1.0)
    row = int(np.median([top for _, top, _ in runs])) + 1  # near their edge, where every middle column shows teeth
    xs = np.array([x for x, top, bottom in runs if top <= row <= bottom])
    profile = lab[row, xs, 0]
    deep = dips(profile, depth=4)
    assert len(deep) >= 3, profile
    spacing = float(np.median(np.diff(xs[deep]))) / rig.mouth.width
    assert 0.07 <= spacing <= 0.11, spacing  # a lower incisor; the upper central ones are 0.17


def test_drawn_teeth_narrow_along_the_arch_as_seen_from_the_front():
    # A mouth 100 px wide: the gaps between the upper teeth, found as the shade's dips, from the middle out. The
    # central incisors show at their own width (0.17 mouth widths); each tooth further out is turned further away, so
    # it shows a smaller share of its width (at one width for all, evenly spaced gaps read as a grille).
    across = np.arange(-50.0, 51.0)
    shade = animation._tooth_separation(across, animation._UPPER_TEETH, animation._UPPER_ARCH, 100.0)
    gaps = [across[i] for i in dips(shade)]
    outward = [gap for gap in gaps if gap >= 0]
    assert outward[0] == 0 and len(outward) >= 4, gaps
    assert gaps == sorted(-gap for gap in gaps)  # the same on both sides
    shown = np.diff(outward) / (100.0 * np.array(animation._UPPER_TEETH[: len(outward) - 1]))
    assert 0.95 <= shown[0] <= 1.0 and all(np.diff(shown) < 0), shown


def test_drawn_teeth_are_rounded_where_they_are_large_enough_to_show_it():
    teeth, arch = animation._UPPER_TEETH, animation._UPPER_ARCH
    for mouth_px, rounded in ((100.0, True), (30.0, False)):  # central incisors 17 px and 5 px wide
        central = teeth[0] * mouth_px
        middle, quarter = animation._tooth_separation(np.array([central / 2, central / 4]), teeth, arch, mouth_px)
        assert (middle - quarter > 0.02) == rounded, (mouth_px, middle, quarter)


def test_drawn_central_incisors_are_a_sixth_of_the_mouth_wide():
    """Rendered: glasses and closed open wide, the gaps either side of the upper central incisors on a row halfway
    down them (0.13 mouth widths apart for every tooth before)."""
    for name in ("glasses", "closed"):
        rig = portrait_rig(photo(name))
        lab, columns = opening_teeth(rig, 1.0, 0.4)
        runs = [(x, first, int(np.argmin(t)) if not t.all() else len(t)) for x, first, t in columns if t[:3].any()]
        row = int(np.median([first + run / 2 for _, first, run in runs]))
        xs = np.array([x for x, first, run in runs if first <= row < first + run])
        profile = lab[row, xs, 0]
        deep = dips(profile, depth=3)
        middle = min(deep, key=lambda i: abs(xs[i] - np.median(xs)))
        for side in (-1, 1):
            width = abs(int(xs[deep[deep.index(middle) + side]]) - int(xs[middle]))
            assert 0.15 <= width / rig.mouth.width <= 0.19, (name, width, rig.mouth.width)


def lower_teeth_bottom(rig, jaw: float) -> tuple[np.ndarray, np.ndarray]:
    """Where the lower teeth meet the lower lip, rendered with the jaw open by jaw: per column of the opening's middle
    three tenths, its x and the row (sub-pixel) where CIELAB chroma crosses halfway from the teeth's to the lip's.
    Chroma, not lightness: the gaps between the teeth are darker, but as grey."""
    lab, runs = lower_teeth_pixels(rig, jaw)
    chroma = np.hypot(lab[..., 1] - 128, lab[..., 2] - 128)
    centre = np.median([x for x, _, _ in runs])
    runs = [(x, top, bottom) for x, top, bottom in runs if abs(x - centre) <= 0.15 * rig.mouth.width]
    halfway = (
        np.median([chroma[(top + bottom) // 2, x] for x, top, bottom in runs])
        + np.median([chroma[bottom + 4, x] for x, _, bottom in runs])
    ) / 2
    rows = []
    for x, top, bottom in runs:
        row = (top + bottom) // 2
        while chroma[row + 1, x] < halfway:
            row += 1
        rows.append(row + (halfway - chroma[row, x]) / (chroma[row + 1, x] - chroma[row, x]))
    return np.array([x for x, _, _ in runs], float), np.array(rows)


@pytest.mark.parametrize("name", ["closed", "mid_speech"])
def test_the_lower_teeth_meet_the_lip_along_a_smooth_edge_without_a_notch(name):
    # The closed portrait's inner lower-lip contour steps 3.7 px between two of its points: the opening followed it and
    # hung a tab of teeth into the lip (its edge 1.1-1.2 px off a parabola, rising 2.6 px over three columns).
    rig = portrait_rig(photo(name))
    for jaw in (0.5, 1.0):
        xs, rows = lower_teeth_bottom(rig, jaw)
        assert len(xs) >= 12
        off = np.abs(rows - np.polyval(np.polyfit(xs, rows, 2), xs))
        assert off.max() <= 0.8, (jaw, np.round(rows, 1))


def test_where_the_lower_lip_dipped_under_the_smooth_edge_it_shows_lip_not_the_photos_opening():
    # open_speaking's inner lower-lip contour dips in a V: cut at the smooth edge above it, the opening left the
    # photo's own dark opening, stretched by the warp, showing at the V's tip (lightness down to 53-71 there, the lips'
    # median 100) until that strip was filled from the lip around it (101-110 now).
    rig = portrait_rig(photo("open_speaking"))
    mouth = rig.mouth
    lips = np.zeros(rig.image.shape[:2], np.uint8)
    cv2.fillPoly(lips, [np.round(rig.landmarks[48:60]).astype(np.int32)], 1)
    lip_lightness = np.median(cv2.cvtColor(rig.image, cv2.COLOR_RGB2LAB)[lips.astype(bool), 0])
    ys, xs = np.mgrid[0 : rig.image.shape[0], 0 : rig.image.shape[1]]
    for jaw in (0.5, 0.8, 1.0):
        contour = (mouth.polygon_rest + jaw * mouth.polygon_motion[FACE_PARAMETERS.index("jaw_open")])[mouth.lower]
        smooth = animation._near_parabola(contour)
        contour_bottom = np.interp(xs, contour[:, 0], contour[:, 1])
        smooth_bottom = np.interp(xs, smooth[:, 0], smooth[:, 1])
        strip = (contour_bottom - smooth_bottom > 0.5) & (ys > smooth_bottom + 1) & (ys < contour_bottom + 1)
        assert strip.sum() >= 10, jaw
        lightness = cv2.cvtColor(render_frame(rig, {"jaw_open": jaw}), cv2.COLOR_RGB2LAB)[strip, 0]
        assert lightness.min() >= 0.7 * lip_lightness, (jaw, np.sort(lightness)[:5], lip_lightness)


# Poses in which the warp draws the skin above open_speaking's lips beside the corners of the opening (pale shards: 3
# pixels lighter than the lips at jaw 1, at 512 px, before the painter filled in what it drew across the lips' seam).
SHARD_POSES = ({"jaw_open": 1.0}, {"jaw_open": 0.7, "lip_round": 0.6})


def drawn_from_above(rig, params: dict[str, float]) -> np.ndarray:
    """(H, W) bool: pixels beside the opening (a pixel or more outside its polygon) and below the lips' seam that the
    warp samples 2 px or more above the seam: the lower lip's motion carried to where its texture is not."""
    mouth = rig.mouth
    face = np.array([params.get(name, 0.0) for name in FACE_PARAMETERS], np.float32)
    x, y, w, h = rig.roi
    field = np.tensordot(face, rig.fields, axes=1) + rig.rest
    ys, xs = np.mgrid[y : y + h, x : x + w].astype(np.float32)
    source_x, source_y = xs - field[..., 0], ys - field[..., 1]
    seam_x, seam_y = mouth.seam[:, 0], mouth.seam[:, 1]
    across = (
        (xs > seam_x[0])
        & (xs < seam_x[-1])
        & (ys > np.interp(xs, seam_x, seam_y))
        & (source_y < np.interp(source_x, seam_x, seam_y) - 2)
    )
    polygon = mouth.polygon_rest + np.tensordot(face, mouth.polygon_motion, axes=1)
    opening = np.zeros(rig.image.shape[:2], np.uint8)
    cv2.fillPoly(opening, [np.round(polygon).astype(np.int32)], 1)
    beside = ~cv2.dilate(opening, np.ones((3, 3), np.uint8)).astype(bool)
    region = np.zeros(rig.image.shape[:2], bool)
    region[y : y + h, x : x + w] = across & beside[y : y + h, x : x + w]
    return region


def test_beside_the_opening_the_lips_show_no_skin_the_warp_drew_across_their_seam():
    rig = portrait_rig(photo("open_speaking"))
    lips = np.zeros(rig.image.shape[:2], np.uint8)
    cv2.fillPoly(lips, [np.round(rig.landmarks[48:60]).astype(np.int32)], 1)
    lip_lightness = np.percentile(cv2.cvtColor(rig.image, cv2.COLOR_RGB2LAB)[lips.astype(bool), 0], 90)
    for params in SHARD_POSES:
        region = drawn_from_above(rig, params)
        assert region.sum() >= 20, params  # the warp does draw across the seam there
        lightness = cv2.cvtColor(render_frame(rig, params), cv2.COLOR_RGB2LAB)[region, 0].astype(float)
        assert (lightness > lip_lightness + 5).sum() == 0, params


def test_only_a_parting_counts_as_drawn_across_the_seam_not_the_mouth_moving_as_a_whole():
    seam = np.array([[10.0, 20.0], [30.0, 20.0], [50.0, 20.0]], np.float32)
    box = (0, 0, 60, 40)
    lifted = np.zeros((40, 60, 2), np.float32)
    lifted[..., 1] = -3.0  # a smile's lift: the lips and the skin around them move together
    assert not _drawn_across_seam(seam, lifted, (0, 0), box).any()
    parted = np.zeros((40, 60, 2), np.float32)
    parted[21:, :, 1] = 6.0  # the jaw drops: only what lies below the seam moves
    drawn = _drawn_across_seam(seam, parted, (0, 0), box)
    rows = np.flatnonzero(drawn.any(axis=1))
    # Rows 21-25 sample rows 15-19, above the seam's row 20; those sampling 2 px or more past it count.
    assert rows.tolist() == [21, 22, 23]
    assert drawn[21:24, 11:50].all() and not drawn[:, :10].any() and not drawn[:, 51:].any()


def test_the_fill_leaves_the_lower_lip_under_the_opening_as_the_warp_drew_it(monkeypatch):
    """Filled under the opening too, the lower lip's edge turned dotted (mid_speech at its benchmark clip's frame 58,
    seen on the close-up sheet): only the shards beside the corners are filled."""
    rig = portrait_rig(photo("mid_speech"))
    pose = {"jaw_open": 0.8, "lip_round": 0.61}
    filled = render_frame(rig, pose)
    monkeypatch.setattr(animation, "_fill_from_around", lambda *args: None)
    drawn = render_frame(rig, pose)
    mouth = rig.mouth
    face = np.array([pose.get(name, 0.0) for name in FACE_PARAMETERS], np.float32)
    polygon = mouth.polygon_rest + np.tensordot(face, mouth.polygon_motion, axes=1)
    lower = polygon[mouth.lower]
    ys, xs = np.mgrid[0 : filled.shape[0], 0 : filled.shape[1]]
    # Past the contour's anti-aliased edge (where it dips under the smooth edge, that strip is the lip's, filled).
    under = (xs >= lower[0, 0]) & (xs <= lower[-1, 0]) & (ys > np.interp(xs, lower[:, 0], lower[:, 1]) + 2)
    assert (filled != drawn).any()  # the corners are filled
    assert (filled[under] == drawn[under]).all()
