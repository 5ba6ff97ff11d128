"""One challenge per link, failed captures counted exactly (also when they arrive at once), and the limits they lead
to: per link, per portrait, per creator.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from consent.audit_log import consent_event_append
from consent.models import Consent
from consent.selectors import consent_get
from consent.services import consent_decide
from core.errors import ApplicationError
from tests.clips import still_clip
from tests.helpers import consent_token_from, decide, frozen_clock, upload_portrait

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def token(api, outbox, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    assert api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json").status_code == 201
    return consent_token_from(outbox)


def _challenge(client, token) -> dict:
    return client.get(f"/api/consent/{token}/").json()["challenge"]


def test_reloading_the_page_shows_the_same_challenge(client, public_api, token):
    first = client.get(f"/consent/{token}/").context["challenge"]
    page = client.get(f"/consent/{token}/")
    assert page.context["challenge"] == first
    assert first["instructions"] in page.content.decode() and "within 2 minutes" in page.content.decode()
    assert _challenge(public_api, token) == first
    assert Consent.objects.get().challenges_issued == 1


def test_a_challenge_expires_after_two_minutes_and_a_link_issues_three_at_most(public_api, token):
    issued_at = timezone.now()
    first = _challenge(public_api, token)
    with frozen_clock(issued_at + timedelta(seconds=110)):
        assert _challenge(public_api, token) == first, "still open just inside its two minutes"
    with frozen_clock(issued_at + timedelta(seconds=125)):
        late = public_api.post(
            f"/api/consent/{token}/",
            {"challenge_id": first["id"], "full_name": "E", "decision": "decline"},
            format="multipart",
        )
        assert (late.status_code, late.json()["error"]) == (400, "challenge_mismatch")
        assert "expired" in late.json()["detail"]
        second = _challenge(public_api, token)
    assert second["id"] != first["id"]
    with frozen_clock(issued_at + timedelta(seconds=250)):
        third = _challenge(public_api, token)
    assert third["id"] not in (first["id"], second["id"])
    with frozen_clock(issued_at + timedelta(seconds=375)):
        after = public_api.get(f"/api/consent/{token}/").json()
    assert after["status"] == "locked" and Consent.objects.get().challenges_issued == 3
    assert Consent.objects.get().events.filter(kind="locked", details__reason="challenges_used").count() == 1


def test_a_failed_capture_uses_up_the_challenge(public_api, token, astronaut):
    first = _challenge(public_api, token)
    refused = decide(public_api, token, capture=still_clip(astronaut))
    assert refused.json()["error"] == "challenge_not_answered"
    assert _challenge(public_api, token)["id"] != first["id"]
    assert Consent.objects.get().failed_attempts == 1


def test_eight_failing_captures_sent_at_once_all_count_and_lock_the_link(public_api, token, astronaut, settings):
    # This test is about counting, not cost: eight analyses forked at once from a loaded process may reach the cost
    # limits (tests/consent/test_capture_cost.py tests those), so they get room here.
    settings.CANDOR_CAPTURE_CPU_S, settings.CANDOR_CAPTURE_MEMORY_MB = 60, 4000
    still = still_clip(astronaut)
    challenge_id = _challenge(public_api, token)["id"]
    start = threading.Barrier(8)
    answers: list[tuple[int, str]] = []

    def send() -> None:
        client = APIClient()
        start.wait()
        try:
            response = client.post(
                f"/api/consent/{token}/",
                {
                    "challenge_id": challenge_id,
                    "full_name": "E",
                    "decision": "approve",
                    "capture": _named(still),
                },
                format="multipart",
            )
            answers.append((response.status_code, response.json()["error"]))
        finally:
            connection.close()

    senders = [threading.Thread(target=send) for _ in range(8)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    counted = [answer for answer in answers if answer == (403, "challenge_not_answered")]
    # A request the machine started late may find the challenge used or the link locked already; every capture
    # analysed counts, none is lost to another's stale save.
    late = [answer for answer in answers if answer in ((400, "challenge_mismatch"), (403, "link_locked"))]
    assert len(counted) + len(late) == 8 and len(counted) >= 6, " ".join(f"{code}:{error}" for code, error in answers)
    consent = Consent.objects.get()
    assert consent.failed_attempts == len(counted), answers
    assert consent.status == "locked"
    assert consent.events.filter(kind="capture_refused").count() == len(counted)


def test_an_approval_decided_on_a_stale_copy_of_a_locked_link_is_refused(public_api, token, live_capture):
    _challenge(public_api, token)
    # A challenge whose clip is known to pass the analysis, so that only the link's state can refuse the approval.
    Consent.objects.filter(token=token).update(
        challenge={**consent_get(token=token).challenge, "turns": ["left", "up"], "digits": "4 7 2"}
    )
    challenge = _challenge(public_api, token)
    stale = consent_get(token=token)
    # Meanwhile failing captures locked the link.
    Consent.objects.filter(id=stale.id).update(status=Consent.Status.LOCKED, failed_attempts=5)
    with pytest.raises(ApplicationError) as refusal:
        consent_decide(
            consent=stale,
            decision="approve",
            challenge_id=challenge["id"],
            full_name="E",
            capture=live_capture(challenge),
        )
    assert refusal.value.code == "link_locked"
    assert Consent.objects.values_list("status", "failed_attempts").get() == ("locked", 5)


def _creator_failures(consent: Consent, count: int) -> None:
    for _ in range(count):
        consent_event_append(consent=consent, kind="capture_refused", details={"reason": "identity_mismatch"})


def test_a_creator_with_ten_failed_captures_in_a_day_sends_no_request_for_a_day(api, outbox, portrait_jpeg, token):
    portrait_id = Consent.objects.get().portrait_id
    ask = lambda: api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")  # noqa: E731
    _creator_failures(Consent.objects.get(), 9)
    assert ask().status_code == 201, "nine failures: still allowed"
    _creator_failures(Consent.objects.get(status="pending"), 1)
    tenth_at = timezone.now()
    paused = ask()
    assert (paused.status_code, paused.json()["error"]) == (429, "consent_requests_paused")
    assert 86_000 <= int(paused["Retry-After"]) <= 86_400
    with frozen_clock(tenth_at + timedelta(hours=23, minutes=59)):
        assert ask().status_code == 429
    with frozen_clock(tenth_at + timedelta(hours=24, seconds=1)):
        assert ask().status_code == 201


def _named(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("capture.mp4", data, content_type="video/mp4")


def test_challenges_are_random_unless_the_test_settings_fix_them(settings):
    """The suite fixes every file's challenge (CANDOR_CHALLENGE_SEED) and every live schedule; production settings
    define neither, so each link's turns and digits are drawn anew.
    """
    import config.settings as production
    from consent.services.common import challenge_new

    assert not hasattr(production, "CANDOR_CHALLENGE_SEED")
    assert not hasattr(production, "CANDOR_CAPTURE_SCHEDULE_SEED")
    fixed = {(tuple(c["turns"]), c["digits"]) for c in (challenge_new() for _ in range(5))}
    assert len(fixed) == 1
    settings.CANDOR_CHALLENGE_SEED = None
    drawn = {(tuple(c["turns"]), c["digits"]) for c in (challenge_new() for _ in range(20))}
    assert len(drawn) > 15
