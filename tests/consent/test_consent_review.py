"""Human review of risky consent approvals: which wait, the capture encrypted meanwhile, staff decide, the purge."""

from __future__ import annotations

import io
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client

from consent import face_match
from consent.models import Consent, ConsentEvent, ConsentReview
from consent.services import consent_review_decide, consent_reviews_expire_due
from consent.services import review as review_rules
from consent.services.capture import capture_check, portrait_reference
from consent.services.live import capture_schedule
from consent.services.review import CAPTURE_KEY_NAME, capture_decrypt
from core.errors import ApplicationError
from tests.conftest import LIVE_SEED
from tests.helpers import approve_live, consent_token_from, decide, frozen_clock, render_request, upload_portrait
from tests.live import stream_as_received

pytestmark = pytest.mark.django_db(transaction=True)

# One challenge for every capture here, so the figures each threshold is bracketed with are the same in every run.
FIXED_CHALLENGE = {"turns": ["left", "right"], "digits": "4 7 2"}


def _requested(api, public_api, outbox, portrait_jpeg) -> tuple[str, str]:
    """A portrait and an open consent request whose challenge is FIXED_CHALLENGE; (portrait id, link token)."""
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    assert api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json").status_code == 201
    token = consent_token_from(outbox)
    _challenge_fixed(public_api, token)
    return portrait_id, token


def _challenge_fixed(public_api, token: str) -> None:
    """Have the page issue the link's challenge, then make its turns and digits FIXED_CHALLENGE's."""
    public_api.get(f"/api/consent/{token}/")
    consent = Consent.objects.get(token=token)
    Consent.objects.filter(id=consent.id).update(challenge={**consent.challenge, **FIXED_CHALLENGE})


_LIVE_FIGURES: dict[str, float] = {}


def _live_figures(other_api, public_api, outbox, portrait_jpeg, live_webm, settings) -> dict:
    """What the session's live capture measures against the portrait: approved once (review off) on another creator's
    copy of the portrait, whose consent keeps the figures; the same stream at the same pace measures the same in every
    run.

    distance: the capture's distance with all its identity frames described. An approval describes them only until
    they are within the accept line, and records the distance of those (at or above this one).
    """
    if not _LIVE_FIGURES:
        mode, settings.CANDOR_CONSENT_REVIEW = settings.CANDOR_CONSENT_REVIEW, "off"
        portrait_id = upload_portrait(other_api, portrait_jpeg).json()["id"]
        assert other_api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json").status_code == 201
        approved = approve_live(public_api, consent_token_from(outbox), live_webm)
        assert approved.json() == {"status": "active"}, approved.json()
        consent = Consent.objects.get(portrait_id=portrait_id)
        stream = stream_as_received(live_webm, capture_schedule(LIVE_SEED))
        every_frame = capture_check(
            capture=stream.data,
            challenge={"turns": stream.turns, "digits": stream.digits},
            english=True,
            live=stream,
            portrait=portrait_reference(consent.portrait),
        )
        distance = face_match.capture_distance(
            every_frame.frame_descriptors, face_match.stored_descriptors(consent.portrait)
        )
        assert distance <= consent.match_distance
        _LIVE_FIGURES.update(distance=distance, **consent.liveness)
        settings.CANDOR_CONSENT_REVIEW = mode
    return _LIVE_FIGURES


@pytest.fixture
def reviewer(db):
    user = get_user_model().objects.create_user(
        username="rita", email="rita@candor.example", password="x-secret-3", is_staff=True
    )
    user.user_permissions.add(Permission.objects.get(codename="change_consentreview"))
    return get_user_model().objects.get(id=user.id)


@pytest.fixture
def waiting(api, public_api, outbox, portrait_jpeg, live_capture, reviewer) -> ConsentReview:
    """An approval sent from a file (risky, the default mode), waiting for review."""
    _portrait_id, token = _requested(api, public_api, outbox, portrait_jpeg)
    response = decide(public_api, token, capture=live_capture, purposes=["education"])
    assert response.status_code == 200 and response.json() == {"status": "awaiting_review"}
    return ConsentReview.objects.get()


def _stored(review: ConsentReview) -> Path:
    return Path(settings.MEDIA_ROOT) / review.capture.name


def test_a_capture_sent_as_a_file_waits_for_review_and_renders_stay_refused(
    api, public_api, outbox, portrait_jpeg, live_capture, waiting
):
    consent = Consent.objects.get()
    assert consent.status == "awaiting_review" and waiting.reasons == ["file_upload"]
    assert waiting.figures["capture_source"] == "file" and waiting.figures["match_distance"] < 0.45
    assert waiting.figures["identity_accept_distance"] == face_match.CONSENT_ACCEPT_DISTANCE
    assert waiting.figures["identity_refuse_distance"] == face_match.CONSENT_REFUSE_DISTANCE
    assert "lip_sync" in waiting.figures["liveness"]
    portrait_id = str(consent.portrait_id)
    refused = render_request(api, portrait_id, purpose="education")
    assert refused.status_code == 403 and refused.json()["error"] == "consent_required"
    assert api.get(f"/api/portraits/{portrait_id}/").json()["status"] == "awaiting_review"
    kinds = [event.kind for event in ConsentEvent.objects.filter(consent=consent)]
    assert kinds[-3:] == ["approved", "review_requested", "render_refused"]
    receipt = public_api.get(f"/api/consent/{consent.token}/receipt/").json()["receipt"]
    assert receipt["decision"] == "awaiting_review"
    assert receipt["review"] == {
        "reasons": ["file_upload"],
        "decision": "pending",
        "reviewer_role": None,
        "decided_at": None,
    }
    staff_mail = [m for m in outbox.messages() if "rita@candor.example" in m]
    assert len(staff_mail) == 1 and str(waiting.id) in staff_mail[0]
    (person_mail,) = [m for m in outbox.messages() if "waiting for a staff review" in m]
    assert "eileen@example.com" in person_mail


def test_the_capture_is_stored_encrypted_and_only_the_key_reads_it(live_capture, waiting):
    sent = live_capture(FIXED_CHALLENGE)
    stored = _stored(waiting).read_bytes()
    assert stored != sent and sent[:64] not in stored and b"ftyp" not in stored
    assert capture_decrypt(stored) == sent
    key_file = Path(settings.KEYS_DIR) / f"{CAPTURE_KEY_NAME}.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    from cryptography.fernet import Fernet, InvalidToken

    with pytest.raises(InvalidToken):
        Fernet(Fernet.generate_key()).decrypt(stored)
    # Two identity frames and one per head turn, each an encrypted JPEG.
    from consent.services import review_key_frames

    frames = review_key_frames(waiting)
    assert len(frames) == 4 and all(frame[:3] == b"\xff\xd8\xff" for frame in frames)
    assert all(not token.startswith("/9j/") for token in waiting.key_frames)


def test_a_reviewer_approves_in_the_admin_and_the_consent_is_active_as_the_person_chose(
    api, public_api, outbox, waiting, reviewer
):
    stored = _stored(waiting)
    page = Client()
    page.force_login(reviewer)
    shown = page.get(f"/admin/consent/consentreview/{waiting.id}/change/").content.decode()
    assert shown.count("data:image/jpeg;base64,") == 5, "the portrait and the four key frames are shown"
    assert "liveness.lip_sync" in shown and "match_distance" in shown and "file_upload" in shown

    response = page.post("/admin/consent/consentreview/", {"action": "approve", "_selected_action": [str(waiting.id)]})

    assert response.status_code == 302
    consent = Consent.objects.get()
    assert consent.status == "active" and consent.purposes == ["education"]
    allowed = render_request(api, str(consent.portrait_id), purpose="education")
    assert allowed.status_code == 202
    waiting.refresh_from_db()
    assert waiting.decision == "approved" and waiting.reviewer == reviewer and waiting.decided_at is not None
    assert not stored.exists() and not waiting.capture and waiting.key_frames == []
    (event,) = ConsentEvent.objects.filter(kind="review_approved")
    assert event.details == {"review": str(waiting.id), "reviewer": "rita", "note": "decided in the admin"}
    receipt = public_api.get(f"/api/consent/{consent.token}/receipt/").json()["receipt"]
    assert receipt["decision"] == "approved"
    assert receipt["review"]["decision"] == "approved" and receipt["review"]["reviewer_role"] == "staff"
    assert receipt["review"]["decided_at"] == waiting.decided_at.isoformat()
    assert "rita" not in str(receipt)
    (person_mail,) = [m for m in outbox.messages() if "reviewed your live video and approved" in m]
    assert consent.revoke_token in person_mail
    (creator_mail,) = [m for m in outbox.messages() if "ada@example.com" in m and "after review" in m]
    assert "now active" in creator_mail


def test_a_reviewer_refuses_with_the_command_and_the_consent_is_declined(
    api, public_api, outbox, waiting, reviewer, capsys
):
    call_command("consent_review")
    assert str(waiting.id) in capsys.readouterr().out

    call_command("consent_review", str(waiting.id), "--refuse", "--reviewer", "rita", "--note", "a mask, not a face")

    assert f"consent review {waiting.id} (refused)" in capsys.readouterr().out
    consent = Consent.objects.get()
    assert consent.status == "declined"
    assert render_request(api, str(consent.portrait_id), purpose="education").status_code == 403
    waiting.refresh_from_db()
    assert waiting.decision == "refused" and waiting.note == "a mask, not a face" and not waiting.capture
    (event,) = ConsentEvent.objects.filter(kind="review_refused")
    assert event.details["note"] == "a mask, not a face"
    receipt = public_api.get(f"/api/consent/{consent.token}/receipt/").json()["receipt"]
    assert receipt["decision"] == "refused_in_review" and receipt["review"]["reviewer_role"] == "staff"
    assert all("a mask" not in message for message in outbox.messages()), "the note stays with staff"
    assert any("did not accept it" in m and "eileen@example.com" in m for m in outbox.messages())
    call_command("consent_review")
    assert str(waiting.id) not in capsys.readouterr().out
    with pytest.raises(CommandError, match="already reviewed"):
        call_command("consent_review", str(waiting.id), "--approve", "--reviewer", "rita")
    with pytest.raises(CommandError, match="no consent review"):
        call_command("consent_review", "not-an-id", "--approve", "--reviewer", "rita")


def test_only_staff_allowed_to_change_reviews_decide_them(waiting, creator):
    staff_without_permission = get_user_model().objects.create_user(username="sam", password="x-4", is_staff=True)
    for user in (creator, staff_without_permission):
        with pytest.raises(ApplicationError) as refused:
            consent_review_decide(review=waiting, reviewer=user, decision="approve")
        assert refused.value.status_code == 403
    page = Client()
    page.force_login(creator)
    response = page.post("/admin/consent/consentreview/", {"action": "approve", "_selected_action": [str(waiting.id)]})
    assert response.status_code == 302 and response.url.startswith("/admin/login/")
    assert Consent.objects.get().status == "awaiting_review" and _stored(waiting).exists()


def test_revoking_while_waiting_withdraws_the_review_and_deletes_the_capture(public_api, waiting, reviewer):
    stored = _stored(waiting)
    consent = Consent.objects.get()

    response = public_api.post(f"/api/consent/revoke/{consent.revoke_token}/")

    assert response.status_code == 200 and response.json() == {"status": "revoked"}
    assert not stored.exists()
    waiting.refresh_from_db()
    assert waiting.decision == "withdrawn" and waiting.key_frames == [] and not waiting.capture
    assert ConsentEvent.objects.filter(kind="review_withdrawn", consent=consent).count() == 1
    with pytest.raises(ApplicationError) as late:
        consent_review_decide(review=waiting, reviewer=reviewer, decision="approve")
    assert late.value.code == "already_reviewed" and Consent.objects.get().status == "revoked"
    receipt = public_api.get(f"/api/consent/{consent.token}/receipt/").json()["receipt"]
    assert receipt["decision"] == "withdrawn"


def test_an_undecided_review_is_purged_after_30_days_and_the_consent_expires(public_api, outbox, waiting):
    stored = _stored(waiting)
    with frozen_clock(waiting.created_at + timedelta(days=29, hours=23)):
        assert consent_reviews_expire_due() == 0
    assert stored.exists()

    with frozen_clock(waiting.created_at + timedelta(days=30, seconds=1)):
        assert consent_reviews_expire_due() == 1

    assert not stored.exists()
    waiting.refresh_from_db()
    assert waiting.decision == "expired" and waiting.key_frames == [] and waiting.reviewer is None
    consent = Consent.objects.get()
    assert consent.status == "expired"
    assert ConsentEvent.objects.filter(kind="review_expired", consent=consent).count() == 1
    receipt = public_api.get(f"/api/consent/{consent.token}/receipt/").json()["receipt"]
    assert receipt["decision"] == "expired" and receipt["review"]["reviewer_role"] is None
    assert any("could not be reviewed in time" in message for message in outbox.messages())


@pytest.mark.parametrize(
    ("margin", "figure", "minimum", "reason"),
    [
        ("LIP_SYNC_REVIEW_MARGIN", "lip_sync", 0.4, "lip_sync_near_threshold"),
        ("MOUTH_RANGE_REVIEW_MARGIN", "mouth_range", 0.04, "mouth_range_near_threshold"),
    ],
)
@pytest.mark.parametrize("inside", [True, False], ids=["just_inside", "just_outside"])
def test_a_figure_near_its_threshold_waits_for_review(
    api,
    other_api,
    public_api,
    outbox,
    portrait_jpeg,
    live_webm,
    settings,
    monkeypatch,
    margin,
    figure,
    minimum,
    reason,
    inside,
):
    """The margin is moved so that the live capture's real figure lies just inside it, or just outside."""
    measured = _live_figures(other_api, public_api, outbox, portrait_jpeg, live_webm, settings)[figure]
    _portrait_id, token = _requested(api, public_api, outbox, portrait_jpeg)
    # Risky when the figure < minimum + margin.
    step = 0.0002
    monkeypatch.setattr(review_rules, margin, measured - minimum + (step if inside else -step))

    response = approve_live(public_api, token, live_webm)

    assert response.status_code == 200, response.json()
    reviewed = ConsentReview.objects.first()
    if inside:
        assert response.json() == {"status": "awaiting_review"} and reviewed is not None
        assert reviewed.reasons == [reason]
    else:
        assert response.json() == {"status": "active"} and reviewed is None


def test_a_creator_with_a_failed_capture_in_24_hours_gets_a_review(
    api, public_api, outbox, portrait_jpeg, live_webm, other_person_live_webm
):
    _portrait_id, token = _requested(api, public_api, outbox, portrait_jpeg)
    failed = approve_live(public_api, token, other_person_live_webm)
    assert failed.status_code == 403 and failed.json()["error"] == "identity_mismatch"

    response = approve_live(public_api, token, live_webm)

    assert response.json() == {"status": "awaiting_review"}
    assert ConsentReview.objects.get().reasons == ["creator_recent_failures"]


def test_a_portrait_with_five_failures_takes_requests_whose_approvals_wait_for_review(
    api, public_api, outbox, portrait_jpeg, live_webm, settings
):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")
    # Five failures on record over the portrait's links (the counting itself has its tests).
    Consent.objects.update(failed_attempts=5, status=Consent.Status.LOCKED)
    settings.CANDOR_CONSENT_REVIEW = "off"
    refused = api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")
    assert refused.status_code == 403 and refused.json()["error"] == "portrait_needs_review"

    settings.CANDOR_CONSENT_REVIEW = "risky"
    assert api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json").status_code == 201

    response = approve_live(public_api, consent_token_from(outbox), live_webm)

    assert response.json() == {"status": "awaiting_review"}
    assert ConsentReview.objects.get().reasons == ["portrait_failures"]


def test_a_file_chosen_on_the_page_waits_and_the_page_says_so(
    client, api, public_api, outbox, portrait_jpeg, live_capture
):
    _portrait_id, token = _requested(api, public_api, outbox, portrait_jpeg)
    consent = Consent.objects.get()
    clip = io.BytesIO(live_capture(consent.challenge))
    clip.name = "capture.mp4"
    decided = client.post(
        f"/consent/{token}/",
        {
            "challenge_id": consent.challenge["id"],
            "full_name": "Eileen Collins",
            "decision": "approve",
            "capture": clip,
        },
    )
    assert decided.status_code == 200
    assert "a member of Candor's staff reviews your live video" in decided.content.decode()
    assert Consent.objects.get().status == "awaiting_review"
    assert ConsentReview.objects.get().reasons == ["file_upload"]


def test_with_review_off_a_live_capture_approves_directly_and_a_file_still_waits(
    api, public_api, outbox, portrait_jpeg, live_capture, live_webm, settings
):
    settings.CANDOR_CONSENT_REVIEW = "off"
    _portrait_id, token = _requested(api, public_api, outbox, portrait_jpeg)
    response = approve_live(public_api, token, live_webm)
    assert response.json() == {"status": "active"} and not ConsentReview.objects.exists()

    _portrait_id, token = _requested(api, public_api, outbox, portrait_jpeg)
    response = decide(public_api, token, capture=live_capture)
    assert response.json() == {"status": "awaiting_review"}
    assert ConsentReview.objects.get().reasons == ["file_upload"]


def test_with_review_all_every_approval_waits(api, public_api, outbox, portrait_jpeg, live_webm, settings):
    settings.CANDOR_CONSENT_REVIEW = "all"
    _portrait_id, token = _requested(api, public_api, outbox, portrait_jpeg)
    response = approve_live(public_api, token, live_webm)
    assert response.json() == {"status": "awaiting_review"}
    assert ConsentReview.objects.get().reasons == ["review_all"]


def test_a_file_claiming_to_be_live_counts_as_a_file(api, public_api, outbox, portrait_jpeg, live_capture):
    """The API takes no capture source any more: a field saying `live` is ignored, the file waits as a file."""
    _portrait_id, token = _requested(api, public_api, outbox, portrait_jpeg)
    response = decide(public_api, token, capture=live_capture, capture_source="live")
    assert response.json() == {"status": "awaiting_review"}
    review = ConsentReview.objects.get()
    assert review.figures["capture_source"] == "file" and review.reasons == ["file_upload"]


def test_the_review_setting_is_checked_at_start_up():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CANDOR_CONSENT_REVIEW": "sometimes",
            "CANDOR_DATA_DIR": str(Path(settings.DATA_DIR) / "startup-check"),
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0 and "CANDOR_CONSENT_REVIEW must be one of off, risky, all" in result.stderr


# How far each identity line is moved past the live capture's measured distance: well under the distance's spread
# between captures of one person, so only the line's side decides.
IDENTITY_STEP = 0.001


def _identity_lines(monkeypatch, *, accept: float, refuse: float) -> None:
    monkeypatch.setattr(face_match, "CONSENT_ACCEPT_DISTANCE", accept)
    monkeypatch.setattr(face_match, "CONSENT_REFUSE_DISTANCE", refuse)


@pytest.mark.parametrize("inside", [True, False], ids=["just_inside", "just_outside"])
def test_a_capture_at_most_the_accept_line_is_active_and_just_past_it_waits_for_review(
    api, other_api, public_api, outbox, portrait_jpeg, live_webm, settings, monkeypatch, inside
):
    distance = _live_figures(other_api, public_api, outbox, portrait_jpeg, live_webm, settings)["distance"]
    _portrait_id, token = _requested(api, public_api, outbox, portrait_jpeg)
    _identity_lines(monkeypatch, accept=distance + (IDENTITY_STEP if inside else -IDENTITY_STEP), refuse=distance + 0.1)

    response = approve_live(public_api, token, live_webm)

    assert response.status_code == 200, response.json()
    recorded = Consent.objects.get(token=token).match_distance
    if inside:
        assert response.json() == {"status": "active"} and not ConsentReview.objects.exists()
        assert distance <= recorded <= face_match.CONSENT_ACCEPT_DISTANCE, "the frames described until accepted"
    else:
        assert response.json() == {"status": "awaiting_review"}
        assert ConsentReview.objects.get().reasons == ["identity_near_threshold"]
        assert recorded == distance, "every identity frame described"


@pytest.mark.parametrize("inside", [True, False], ids=["just_inside", "just_outside"])
def test_a_capture_at_most_the_refuse_line_waits_for_review_and_just_past_it_is_refused(
    api, other_api, public_api, outbox, portrait_jpeg, live_webm, settings, monkeypatch, inside
):
    distance = _live_figures(other_api, public_api, outbox, portrait_jpeg, live_webm, settings)["distance"]
    _portrait_id, token = _requested(api, public_api, outbox, portrait_jpeg)
    _identity_lines(monkeypatch, accept=distance - 0.1, refuse=distance + (IDENTITY_STEP if inside else -IDENTITY_STEP))

    response = approve_live(public_api, token, live_webm)

    consent = Consent.objects.get(token=token)
    if inside:
        assert response.status_code == 200 and response.json() == {"status": "awaiting_review"}, response.json()
        assert ConsentReview.objects.get().reasons == ["identity_near_threshold"]
    else:
        assert response.status_code == 403 and response.json()["error"] == "identity_mismatch", response.json()
        assert consent.status == "pending" and consent.failed_attempts == 1
        assert not ConsentReview.objects.exists()


@pytest.mark.parametrize("inside", [True, False], ids=["just_inside", "just_outside"])
def test_with_review_off_a_capture_past_the_accept_line_is_refused_not_accepted(
    api, other_api, public_api, outbox, portrait_jpeg, live_webm, settings, monkeypatch, inside
):
    distance = _live_figures(other_api, public_api, outbox, portrait_jpeg, live_webm, settings)["distance"]
    settings.CANDOR_CONSENT_REVIEW = "off"
    _portrait_id, token = _requested(api, public_api, outbox, portrait_jpeg)
    _identity_lines(monkeypatch, accept=distance + (IDENTITY_STEP if inside else -IDENTITY_STEP), refuse=distance + 0.1)

    response = approve_live(public_api, token, live_webm)

    consent = Consent.objects.get(token=token)
    assert not ConsentReview.objects.exists()
    if inside:
        assert response.status_code == 200 and response.json() == {"status": "active"}, response.json()
    else:
        assert response.status_code == 403 and response.json()["error"] == "identity_mismatch", response.json()
        assert "to be sure it is them" in response.json()["detail"]
        assert consent.status == "pending" and consent.failed_attempts == 1
