"""The person pictured approves with the browser's camera: headless Chromium films a fake camera and microphone."""

from __future__ import annotations

import pytest
import skimage.data

from consent.models import PURPOSES, Consent
from tests.clips import liveness_clip
from tests.helpers import upload_portrait

from .camera import CLIP_FPS, CLIP_SECONDS, TURNS, challenge_turns, find, record_and_approve
from .conftest import PHONE

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_person_pictured_approves_with_the_camera_after_a_wrong_answer_is_refused(
    filmed, camera, creator, api, outbox, portrait_jpeg
):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    assert api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json").status_code == 201
    token = outbox.links(r"/consent/([A-Za-z0-9_\-]+)/")[-1]
    photo = skimage.data.astronaut()

    filmed.open(f"/consent/{token}/")
    # On a phone the whole consent text shows, nothing runs off the side of the screen.
    filmed.driver.set_window_size(*PHONE)
    assert filmed.driver.execute_script(
        "const text = document.querySelector('pre.consent-text');"
        "return text.scrollWidth <= text.clientWidth && document.documentElement.scrollWidth <= window.innerWidth"
    ), "the consent text or the page is wider than a phone's screen"
    assert find(filmed, "#camera").is_displayed(), (
        "the camera recorder stays hidden: getUserMedia or MediaRecorder is missing"
    )
    asked = challenge_turns(filmed)
    # The same person, live and speaking, but turning the other two ways.
    wrong = [turn for turn in TURNS if turn not in asked]
    record_and_approve(
        filmed, camera, liveness_clip(photo, turns=wrong, fps=CLIP_FPS, seconds=CLIP_SECONDS), "13-consent-camera"
    )
    refusal = find(filmed, "p.error[role=alert]").text
    assert f"do not answer the challenge ({', '.join(asked)})" in refusal, refusal
    assert Consent.objects.get().status == "pending"
    filmed.screenshot("14-consent-camera-wrong-turns", size=PHONE)
    # Chromium logs the refusal's 400 answer as a failed page load; nothing else may appear in the console.
    assert [entry for entry in filmed.console_errors() if "status of 400" not in entry] == []

    # The refusal page asks a fresh challenge; this time the clip answers it.
    asked = challenge_turns(filmed)
    record_and_approve(
        filmed, camera, liveness_clip(photo, turns=asked, fps=CLIP_FPS, seconds=CLIP_SECONDS), "15-consent-camera"
    )
    consent = Consent.objects.get()
    assert find(filmed, "h1").text == "You approved", consent.liveness or find(filmed, "main").text
    # After the failed answer the approval waits for staff (CANDOR_CONSENT_REVIEW=risky); that the recorder made the
    # clip reached the server (capture_source "camera"), since "file_upload" is not among the reasons.
    assert consent.status == "awaiting_review" and sorted(consent.purposes) == sorted(PURPOSES)
    assert consent.review.reasons == ["creator_recent_failures"]
    assert "staff reviews your live video" in find(filmed, "main").text
    assert consent.liveness["passed"] and consent.liveness["turns_seen"] == asked
    filmed.assert_clean_console()
    filmed.screenshot("16-consent-camera-approved", size=PHONE)
