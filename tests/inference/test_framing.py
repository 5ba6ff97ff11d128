"""The output's shape: canvas sizes per aspect ratio, the portrait placed whole, the background filled."""

from __future__ import annotations

import numpy as np
import pytest

from inference.framing import LONG_SIDE_MAX, OutputShape, canvas_size, frames_framed


def _portrait(height: int = 300, width: int = 240) -> np.ndarray:
    """A synthetic portrait: a gradient with a bright square in the middle, so placement and scale can be read."""
    rows = np.linspace(40, 200, height, dtype=np.float32)[:, None]
    frame = np.repeat(np.repeat(rows, width, axis=1)[:, :, None], 3, axis=2).astype(np.uint8)
    frame[height // 2 - 20 : height // 2 + 20, width // 2 - 20 : width // 2 + 20] = 255
    return frame


@pytest.mark.parametrize(
    ("aspect", "long_side", "expected"),
    [
        ("16:9", 1080, (1080, 608)),
        ("9:16", 720, (404, 720)),
        ("1:1", 480, (480, 480)),
        ("original", 600, (480, 600)),
        ("original", None, (240, 300)),
        ("16:9", None, (300, 168)),
    ],
)
def test_the_canvas_has_the_asked_aspect_with_even_sides(aspect, long_side, expected):
    assert canvas_size(240, 300, OutputShape(aspect=aspect, long_side=long_side)) == expected


def test_a_long_side_over_1080_is_refused():
    canvas_size(240, 300, OutputShape(aspect="16:9", long_side=LONG_SIDE_MAX))
    with pytest.raises(ValueError, match="between 240 and 1080"):
        canvas_size(240, 300, OutputShape(aspect="16:9", long_side=LONG_SIDE_MAX + 1))


def test_the_portrait_is_placed_whole_and_centred_on_a_colour():
    (framed,) = frames_framed([_portrait()], OutputShape(aspect="16:9", long_side=640, background="#102030"))

    assert framed.shape == (360, 640, 3)
    # The portrait, scaled to the full height (300 -> 360, 240 -> 288), sits in the middle; the sides are the colour.
    assert (framed[:, :170] == (16, 32, 48)).all() and (framed[:, 470:] == (16, 32, 48)).all()
    portrait = framed[:, 176:464]
    assert portrait[0, 144, 0] == pytest.approx(40, abs=3) and portrait[-1, 144, 0] == pytest.approx(200, abs=3)
    assert (portrait[180 - 20 : 180 + 20, 144 - 20 : 144 + 20] == 255).all()


def test_the_blurred_background_extends_the_photo_instead_of_a_flat_fill():
    (framed,) = frames_framed([_portrait()], OutputShape(aspect="16:9", long_side=640))

    side = framed[:, :170, 0].astype(int)
    # The photo's top-to-bottom gradient carries on beside the portrait (dimmed), not one flat colour.
    assert side[:40].mean() < side[-40:].mean() - 40


def test_the_background_is_made_once_and_later_frames_are_placed_on_it():
    first, second = _portrait(), _portrait()
    second[:10] = 0
    framed = list(frames_framed([first, second], OutputShape(aspect="1:1", background="#ffffff")))

    assert framed[0].shape == framed[1].shape == (300, 300, 3)
    assert (framed[1][:, :20] == 255).all() and (framed[1][:10, 150] == 0).all()


def test_the_identity_shape_passes_frames_unchanged():
    frame = _portrait()
    (same,) = frames_framed([frame], OutputShape())
    assert same is frame
