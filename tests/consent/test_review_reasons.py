"""Which approvals wait for staff: a recorded file always; a live capture whose figures came near a threshold."""

from __future__ import annotations

import pytest

from consent import face_match
from consent.flash import FACE_MIN_CORRELATION
from consent.portrait_copy import COPY_THRESHOLD
from consent.services.review import FLASH_REVIEW_MARGIN, PORTRAIT_COPY_REVIEW_MARGIN, review_reasons
from tests.helpers import portrait_with_active_consent

pytestmark = pytest.mark.django_db


@pytest.fixture
def consent(creator, portrait_jpeg):
    return portrait_with_active_consent(creator, portrait_jpeg).consents.get()


def _liveness(*, flash: float = 0.99, copy: float = 0.0) -> dict:
    return {"lip_sync": 0.9, "mouth_range": 0.2, "flash": {"face_correlation": flash}, "portrait_copy": {"score": copy}}


@pytest.mark.parametrize("mode", ["off", "risky", "all"])
def test_a_recorded_file_waits_for_staff_in_every_mode(consent, settings, mode):
    settings.CANDOR_CONSENT_REVIEW = mode
    assert "file_upload" in review_reasons(consent=consent, distance=0.2, liveness=_liveness(), capture_source="file")
    live = review_reasons(consent=consent, distance=0.2, liveness=_liveness(), capture_source="live")
    assert live == (["review_all"] if mode == "all" else [])


def test_a_flash_just_inside_its_review_margin_waits_and_just_outside_does_not(consent, settings):
    settings.CANDOR_CONSENT_REVIEW = "risky"
    near = FACE_MIN_CORRELATION + FLASH_REVIEW_MARGIN - 0.01
    clear = FACE_MIN_CORRELATION + FLASH_REVIEW_MARGIN + 0.01
    assert review_reasons(consent=consent, distance=0.2, liveness=_liveness(flash=near), capture_source="live") == [
        "flash_near_threshold"
    ]
    assert review_reasons(consent=consent, distance=0.2, liveness=_liveness(flash=clear), capture_source="live") == []


def test_a_portrait_copy_score_just_inside_its_review_margin_waits_and_just_outside_does_not(consent, settings):
    settings.CANDOR_CONSENT_REVIEW = "risky"
    near = COPY_THRESHOLD - PORTRAIT_COPY_REVIEW_MARGIN + 0.01
    clear = COPY_THRESHOLD - PORTRAIT_COPY_REVIEW_MARGIN - 0.01
    assert review_reasons(consent=consent, distance=0.2, liveness=_liveness(copy=near), capture_source="live") == [
        "portrait_copy_near_threshold"
    ]
    assert review_reasons(consent=consent, distance=0.2, liveness=_liveness(copy=clear), capture_source="live") == []


@pytest.mark.parametrize("mode", ["risky", "all"])
def test_a_live_capture_in_the_identity_band_waits_for_staff_and_one_at_the_accept_line_does_not(
    consent, settings, mode
):
    settings.CANDOR_CONSENT_REVIEW = mode
    at_line = review_reasons(
        consent=consent, distance=face_match.CONSENT_ACCEPT_DISTANCE, liveness=_liveness(), capture_source="live"
    )
    assert "identity_near_threshold" not in at_line
    for distance in (face_match.CONSENT_ACCEPT_DISTANCE + 0.001, face_match.CONSENT_REFUSE_DISTANCE):
        reasons = review_reasons(consent=consent, distance=distance, liveness=_liveness(), capture_source="live")
        assert reasons == ["identity_near_threshold"]


def test_with_review_off_a_recorded_file_in_the_identity_band_waits_with_both_reasons(consent, settings):
    settings.CANDOR_CONSENT_REVIEW = "off"
    band = (face_match.CONSENT_ACCEPT_DISTANCE + face_match.CONSENT_REFUSE_DISTANCE) / 2
    reasons = review_reasons(consent=consent, distance=band, liveness=_liveness(), capture_source="file")
    assert reasons == ["identity_near_threshold", "file_upload"]
