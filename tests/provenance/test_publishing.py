"""A render's frames as they are published (label, watermark, content fingerprint and tracks): the render's own thread
keeps reporting progress while they are made, however long the sound is."""

import math
import time

import numpy as np
import pytest

from provenance.content_tracks import sound_fingerprint, tracks_from_bytes
from provenance.models import RenderFingerprint
from provenance.services import provenance_frames
from studio.services import render_enqueue
from tests.production.conftest import consented_portrait  # noqa: F401

pytestmark = pytest.mark.django_db

SOUND_RATE = 22_050


def _sound_fingerprinted_in_over(seconds: float) -> np.ndarray:
    """Noise long enough that fingerprinting it takes more than `seconds` on this machine (at least 5 minutes)."""
    rng = np.random.default_rng(7)
    five_minutes = rng.normal(0, 0.1, 5 * 60 * SOUND_RATE).astype(np.float32)
    started = time.perf_counter()
    sound_fingerprint((five_minutes, SOUND_RATE))
    repeats = max(1, math.ceil(1.5 * seconds / (time.perf_counter() - started)))
    return np.tile(five_minutes, repeats)


def test_a_long_sound_is_fingerprinted_while_the_render_keeps_reporting(creator, consented_portrait, astronaut):  # noqa: F811
    render = render_enqueue(
        owner=creator, portrait=consented_portrait, purpose="marketing", text="Hello.", language="en", dispatch=False
    )
    sound = _sound_fingerprinted_in_over(1.2)
    moments = [time.perf_counter()]
    frames = provenance_frames(
        [astronaut] * 3, render=render, sound=(sound, SOUND_RATE), on_wait=lambda: moments.append(time.perf_counter())
    )
    for _frame in frames:
        moments.append(time.perf_counter())
    longest_gap = max(later - earlier for earlier, later in zip(moments, moments[1:], strict=False))
    assert longest_gap < 1.0, f"nothing reported for {longest_gap:.2f} s"
    tracks = tracks_from_bytes(bytes(RenderFingerprint.objects.get(render=render).content_tracks))
    assert np.array_equal(tracks.audio, sound_fingerprint((sound, SOUND_RATE)))
