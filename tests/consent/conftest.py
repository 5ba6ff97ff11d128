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


@pytest.fixture(scope="session")
def capture_jpeg(same_person_photos) -> bytes:
    """A 'selfie' of the portrait's person: obama.jpg rotated, scaled, cropped and recompressed."""
    import cv2
    import numpy as np

    photo = same_person_photos[0]
    height, width = photo.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 4, 1.1)
    changed = cv2.warpAffine(photo, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
    changed = changed[height // 16 : height - height // 16, width // 24 : width - width // 24]
    return cv2.imencode(
        ".jpg", cv2.cvtColor(np.ascontiguousarray(changed), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 70]
    )[1].tobytes()
