"""Consent tests ask a person whose live capture can be made from another photo of them: the portrait is obama.jpg,
the captures are made from obama2.jpg (the portrait-copy check refuses captures made from the portrait's own pixels).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def portrait_jpeg(subject_jpeg) -> bytes:
    return subject_jpeg


@pytest.fixture(scope="session")
def live_capture(same_person_photos):
    """challenge -> MP4 bytes of the portrait's person answering it (a recorded file, as the upload path takes)."""
    from tests.clips import LiveClips

    return LiveClips(same_person_photos[1])
