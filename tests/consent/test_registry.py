"""The do-not-generate registry: live capture plus email confirmation, uploads refused or held, removal only by the same
person.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from consent import face_match
from consent.models import ConsentEvent, RegistryEntry, RegistryHold
from consent.services.capture import capture_check
from consent.services.live import capture_schedule
from studio.models import Portrait
from tests.conftest import LIVE_SEED
from tests.helpers import bytes_streamed, frozen_clock, register_face, upload_portrait
from tests.live import live_stream, stream_as_received

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_registered_face_is_refused_at_upload_only_once_confirmed(
    api, other_api, public_api, outbox, portrait_jpeg, same_person_photos, live_webm
):
    from tests.conftest import _jpeg

    capture_jpeg = _jpeg(same_person_photos[1])  # the photo the live capture was filmed from
    register_face(public_api, outbox, live_webm, confirm=False)
    assert upload_portrait(api, portrait_jpeg).status_code == 201, "an unconfirmed registration blocks nothing"
    (confirm_token,) = outbox.links(r"/registry/confirm/([A-Za-z0-9_\-]+)/")
    assert public_api.post(f"/api/registry/confirm/{confirm_token}/").json()["status"] == "active"
    assert outbox.links(r"/registry/remove/([A-Za-z0-9_\-]+)/") == [RegistryEntry.objects.get().remove_token]
    # Photos of the registered capture's face (obama.jpg, another photo of the person, measures near the refusal
    # threshold from it and is held for review instead: the borderline test below).
    for client, photo in ((api, capture_jpeg), (other_api, _jpeg(same_person_photos[1], quality=70))):
        refused = upload_portrait(client, photo)
        assert refused.status_code == 403 and refused.json()["error"] == "face_opted_out"
    assert Portrait.objects.count() == 1
    assert ConsentEvent.objects.filter(kind="upload_refused").count() == 2


def test_a_different_face_is_not_affected(api, public_api, outbox, other_person_jpeg, live_webm):
    register_face(public_api, outbox, live_webm)
    assert upload_portrait(api, other_person_jpeg).status_code == 201


def test_a_borderline_match_is_held_for_review_instead_of_refused(
    api, public_api, outbox, same_person_photos, live_webm, monkeypatch
):
    from tests.conftest import _jpeg

    capture_jpeg = _jpeg(same_person_photos[1])  # the photo the live capture was filmed from
    entry = register_face(public_api, outbox, live_webm)
    # With the refusal threshold below the distance these two captures of one face measure (about 0.1),
    # the match falls in the review band: the same path an uncertain real match takes.
    monkeypatch.setattr(face_match, "REGISTRY_REFUSE_DISTANCE", 0.01)
    held = upload_portrait(api, capture_jpeg)
    assert held.status_code == 409 and held.json()["error"] == "face_held_for_review"
    hold = RegistryHold.objects.get()
    assert hold.entry == entry and hold.status == "held" and 0.01 < hold.distance <= face_match.REGISTRY_REVIEW_DISTANCE
    assert str(hold.id) in held.json()["detail"] and hold.image.size > 0
    assert Portrait.objects.count() == 0


def test_only_the_same_person_can_remove_a_registration(
    api, public_api, outbox, portrait_jpeg, live_webm, other_person_live_webm
):
    entry = register_face(public_api, outbox, live_webm)
    captures_url = f"/api/registry/remove/{entry.remove_token}/captures/"

    impostor = live_stream(public_api, captures_url, other_person_live_webm)
    assert impostor.status_code == 403 and impostor.json()["error"] == "identity_mismatch"
    assert RegistryEntry.objects.get().status == "active"

    still = bytes_streamed(public_api, captures_url, portrait_jpeg)
    assert still.status_code in (400, 403) and still.json()["error"] == "liveness_required", still.json()
    assert RegistryEntry.objects.get().status == "active"

    # Three removal checks an hour (the registration's own check is not one of them).
    assert public_api.post(captures_url, format="json").status_code == 201
    throttled = public_api.post(captures_url, format="json")
    assert throttled.status_code == 429 and throttled.json()["error"] == "throttled"
    with frozen_clock(timezone.now() + timedelta(hours=1, seconds=1)):
        removed = live_stream(public_api, captures_url, live_webm)
    assert removed.status_code == 200 and removed.json()["status"] == "removed"
    entry.refresh_from_db()
    assert entry.descriptor is None
    assert upload_portrait(api, portrait_jpeg).status_code == 201


def test_registering_needs_a_live_capture(public_api, outbox, portrait_jpeg):
    entry_id = public_api.post("/api/registry/", {"email": "eileen@example.com"}, format="json").json()["id"]
    assert "challenge" not in public_api.get(f"/api/registry/{entry_id}/").json()
    assert public_api.post(f"/api/registry/{entry_id}/capture/", {}).status_code == 404, "no recorded file is taken"
    response = bytes_streamed(public_api, f"/api/registry/{entry_id}/captures/", portrait_jpeg)
    assert response.status_code in (400, 403) and response.json()["error"] == "liveness_required", response.json()
    assert RegistryEntry.objects.get().status == "capture_pending" and outbox.messages() == []


def test_a_portrait_uploaded_before_the_registration_can_no_longer_be_asked_about(
    api, public_api, outbox, same_person_photos, live_webm
):
    from tests.conftest import _jpeg

    portrait_id = upload_portrait(api, _jpeg(same_person_photos[1])).json()["id"]
    register_face(public_api, outbox, live_webm)
    refused = api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")
    assert refused.status_code == 403 and refused.json()["error"] == "face_opted_out"


def test_removal_line_is_bracketed_by_the_measured_distance(public_api, outbox, live_webm, monkeypatch):
    """A removal just outside face_match's removal line is refused and the opt-out stays; just inside, it is removed.

    The distance is the stream's own to the registered face with every identity frame described (a removal describes
    them only until they are within the line), and the line is moved 0.001 either side of it.
    """
    entry = register_face(public_api, outbox, live_webm)
    stream = stream_as_received(live_webm, capture_schedule(LIVE_SEED))
    every_frame = capture_check(
        capture=stream.data, challenge={"turns": stream.turns, "digits": stream.digits}, live=stream
    )
    measured = face_match.capture_distance(every_frame.frame_descriptors, np.asarray(entry.descriptor))
    assert measured <= face_match.REGISTRY_REMOVAL_DISTANCE
    captures_url = f"/api/registry/remove/{entry.remove_token}/captures/"

    monkeypatch.setattr(face_match, "REGISTRY_REMOVAL_DISTANCE", measured - 0.001)
    refused = live_stream(public_api, captures_url, live_webm)
    assert refused.status_code == 403 and refused.json()["error"] == "identity_mismatch", refused.json()
    entry.refresh_from_db()
    assert entry.status == "active" and entry.failed_attempts == 1

    monkeypatch.setattr(face_match, "REGISTRY_REMOVAL_DISTANCE", measured + 0.001)
    removed = live_stream(public_api, captures_url, live_webm)
    assert removed.status_code == 200 and removed.json()["status"] == "removed", removed.json()
    logged = ConsentEvent.objects.get(kind="registry_removed").details["match_distance"]
    assert round(measured, 4) <= logged <= round(measured + 0.001, 4), "the frames described until within the line"


def test_review_line_of_the_upload_screen_is_bracketed_by_the_measured_distance(
    api, public_api, outbox, other_person_jpeg, live_webm, monkeypatch
):
    """An upload just past face_match's review line passes; just inside it is held. The distance is the one the screen
    itself measured for another person's photo (the upload and its mirror image against the registered face).
    """
    register_face(public_api, outbox, live_webm)
    review_line = face_match.REGISTRY_REVIEW_DISTANCE
    monkeypatch.setattr(face_match, "REGISTRY_REVIEW_DISTANCE", 2.0)
    assert upload_portrait(api, other_person_jpeg).json()["error"] == "face_held_for_review"
    measured = RegistryHold.objects.get().distance
    assert measured > review_line, "another person's photo passes at the real line"

    monkeypatch.setattr(face_match, "REGISTRY_REVIEW_DISTANCE", measured - 0.001)
    assert upload_portrait(api, other_person_jpeg).status_code == 201
    monkeypatch.setattr(face_match, "REGISTRY_REVIEW_DISTANCE", measured + 0.001)
    held = upload_portrait(api, other_person_jpeg)
    assert held.status_code == 409 and held.json()["error"] == "face_held_for_review"
    assert RegistryHold.objects.count() == 2
