"""Review of uploads the do-not-generate registry held: staff release them or confirm the block; the creator is told."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client

from consent.models import Consent, ConsentEvent, RegistryEntry, RegistryHold
from consent.services import registry_hold_release
from core.errors import ApplicationError
from inference import faces, media
from studio.models import Portrait
from tests.helpers import upload_portrait

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hold(api, outbox, portrait_jpeg, capture_jpeg, monkeypatch) -> RegistryHold:
    """The creator's upload of a face close to a registered one, held for review.

    The registration is made through the ORM (its own flow has its tests); with the refusal threshold below the
    distance of these two photos of one face (about 0.1), the match falls in the review band.
    """
    from consent import face_match

    pixels = media.image_decode(portrait_jpeg, max_side=1600)
    descriptor = faces.face_descriptor(pixels, faces.face_single(pixels))
    RegistryEntry.objects.create(
        email="eileen@example.com",
        status=RegistryEntry.Status.ACTIVE,
        descriptor=np.asarray(descriptor).tolist(),
        confirm_token="confirm-" + "x" * 40,
        remove_token="remove-" + "x" * 40,
    )
    monkeypatch.setattr(face_match, "REGISTRY_REFUSE_DISTANCE", 0.01)
    held = upload_portrait(api, capture_jpeg, name="Eileen Collins")
    assert held.status_code == 409 and held.json()["error"] == "face_held_for_review"
    return RegistryHold.objects.get()


@pytest.fixture
def reviewer(db):
    user = get_user_model().objects.create_user(
        username="rita", email="rita@candor.example", password="x-secret-3", is_staff=True
    )
    user.user_permissions.add(Permission.objects.get(codename="change_registryhold"))
    return get_user_model().objects.get(id=user.id)


def _held_file(hold: RegistryHold) -> Path:
    return Path(settings.MEDIA_ROOT) / hold.image.name


def test_a_released_upload_becomes_the_creators_portrait_and_consent_can_be_asked(api, hold, reviewer, outbox):
    held_file = _held_file(hold)
    assert held_file.exists() and api.get(f"/api/registry-holds/{hold.id}/").json()["status"] == "held"

    released = registry_hold_release(
        hold=hold, reviewer=reviewer, decision="release", note="a different woman; similar hair"
    )

    portrait = Portrait.objects.get()
    assert released.status == "released" and released.portrait == portrait and released.reviewed_by == reviewer
    assert portrait.owner == hold.owner and portrait.subject_name == "Eileen Collins" and portrait.image.size > 0
    assert not held_file.exists(), "the held photo is deleted once the portrait has its own copy"
    seen = api.get(f"/api/registry-holds/{hold.id}/").json()
    assert seen["status"] == "released" and seen["portrait"] == str(portrait.id) and "note" not in seen
    (event,) = ConsentEvent.objects.filter(kind="hold_released")
    assert event.registration_id == hold.entry_id
    assert event.details == {
        "hold": str(hold.id),
        "reviewer": "rita",
        "note": "a different woman; similar hair",
        "portrait": str(portrait.id),
    }
    (message,) = [m for m in outbox.messages() if "ada@example.com" in m]
    assert "It was released" in message and f"/portraits/{portrait.id}/" in message and "similar hair" not in message
    asked = api.post(f"/api/portraits/{portrait.id}/consent-request/", {}, format="json")
    assert asked.status_code == 201 and Consent.objects.get().portrait == portrait


def test_a_confirmed_block_refuses_the_upload_and_deletes_the_photo(api, hold, reviewer, outbox):
    held_file = _held_file(hold)

    refused = registry_hold_release(hold=hold, reviewer=reviewer, decision="refuse", note="same person")

    assert refused.status == "refused" and refused.portrait is None and not Portrait.objects.exists()
    assert not held_file.exists()
    stored = RegistryHold.objects.get()
    assert not stored.image and stored.subject_name == "" and stored.subject_email == ""
    assert api.get(f"/api/registry-holds/{hold.id}/").json() | {"created_at": None, "reviewed_at": None} == {
        "id": str(hold.id),
        "status": "refused",
        "portrait": None,
        "created_at": None,
        "reviewed_at": None,
    }
    assert ConsentEvent.objects.filter(kind="hold_refused", registration=hold.entry).count() == 1
    (message,) = [m for m in outbox.messages() if "ada@example.com" in m]
    assert "The block stands" in message
    with pytest.raises(ApplicationError) as twice:
        registry_hold_release(hold=hold, reviewer=reviewer, decision="release")
    assert twice.value.code == "already_reviewed" and twice.value.status_code == 409
    assert not Portrait.objects.exists()


def test_only_staff_allowed_to_change_holds_can_review_them(hold, creator, reviewer):
    staff_without_permission = get_user_model().objects.create_user(
        username="sam", password="x-secret-4", is_staff=True
    )
    permission_without_staff = get_user_model().objects.create_user(username="pat", password="x-secret-5")
    permission_without_staff.user_permissions.add(Permission.objects.get(codename="change_registryhold"))
    for user in (creator, staff_without_permission, permission_without_staff):
        with pytest.raises(ApplicationError) as refused:
            registry_hold_release(hold=hold, reviewer=user, decision="release")
        assert refused.value.status_code == 403
    with pytest.raises(CommandError, match="only staff"):
        call_command("registry_hold_review", str(hold.id), "--release", "--reviewer", "ada")

    page = Client()
    page.force_login(creator)
    response = page.post("/admin/consent/registryhold/", {"action": "release", "_selected_action": [str(hold.id)]})
    assert response.status_code == 302 and response.url.startswith("/admin/login/")

    hold.refresh_from_db()
    assert hold.status == "held" and _held_file(hold).exists()
    assert not Portrait.objects.exists() and not ConsentEvent.objects.filter(kind__startswith="hold_").exists()


def test_a_reviewer_decides_in_the_admin(hold, reviewer):
    page = Client()
    page.force_login(reviewer)
    listed = page.get(f"/admin/consent/registryhold/{hold.id}/change/")
    assert listed.status_code == 200 and b"data:image/jpeg;base64," in listed.content, (
        "the reviewer sees the held photo"
    )

    response = page.post("/admin/consent/registryhold/", {"action": "release", "_selected_action": [str(hold.id)]})

    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.status == "released" and hold.reviewed_by == reviewer and hold.portrait is not None


def test_the_command_lists_waiting_holds_and_records_a_decision(hold, reviewer, capsys):
    call_command("registry_hold_review")
    assert str(hold.id) in capsys.readouterr().out

    call_command("registry_hold_review", str(hold.id), "--refuse", "--reviewer", "rita", "--note", "same face")

    assert f"registry hold {hold.id} (refused)" in capsys.readouterr().out
    hold.refresh_from_db()
    assert hold.status == "refused" and hold.review_note == "same face"
    call_command("registry_hold_review")
    assert str(hold.id) not in capsys.readouterr().out
    with pytest.raises(CommandError, match="no registry hold"):
        call_command("registry_hold_review", "not-an-id", "--release", "--reviewer", "rita")


def test_the_creators_dashboard_lists_held_uploads_and_their_outcome(client, creator, api, hold, reviewer):
    client.force_login(creator)
    waiting = client.get("/").content.decode()
    assert "Uploads held for review" in waiting and "waiting for review" in waiting
    registry_hold_release(hold=hold, reviewer=reviewer, decision="release", note="a different person")
    released = client.get("/").content.decode()
    portrait = Portrait.objects.get()
    assert "released" in released and f"/portraits/{portrait.id}/" in released
    assert "a different person" not in released, "the reviewer's note is never shown to the creator"
