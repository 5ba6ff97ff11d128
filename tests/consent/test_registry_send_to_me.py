"""Send-to-me registrations: consent requests for a registered face go to the address its owner registered, never to
the one the creator typed, and the creator never learns that address.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from consent import face_match
from consent.models import Consent, ConsentEvent, RegistryEntry
from consent.services import ROUTED_NOTICE
from tests.helpers import approve_live, bytes_streamed, consent_token_from, decide, register_face, upload_portrait
from tests.live import live_stream

pytestmark = pytest.mark.django_db(transaction=True)

REGISTERED = "eileen.private@example.net"
TYPED = "ada.own.inbox@example.com"  # a dishonest creator types an inbox they read


def _mail_to(outbox, address: str) -> list[str]:
    return [message for message in outbox.messages() if re.search(rf"^To: {re.escape(address)}$", message, re.M)]


def _request(api, portrait_id):
    return api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")


def _portrait(api, photo: bytes, *, email: str = TYPED) -> str:
    response = upload_portrait(api, photo, email=email)
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def test_a_send_to_me_face_gets_its_link_at_the_registered_address_only_and_the_creator_never_sees_it(
    api, client, creator, public_api, outbox, portrait_jpeg, live_webm
):
    entry = register_face(public_api, outbox, live_webm, email=REGISTERED, kind="send_to_me")
    assert entry.kind == "send_to_me" and entry.status == "active"
    portrait_id = _portrait(api, portrait_jpeg)  # send-to-me blocks no upload

    response = _request(api, portrait_id)
    assert response.status_code == 201, response.json()
    assert response.json()["routed"] is True and response.json()["sent_to"] == ROUTED_NOTICE
    assert REGISTERED not in response.content.decode()
    assert _mail_to(outbox, TYPED) == []
    (request_mail,) = [m for m in _mail_to(outbox, REGISTERED) if "/consent/" in m]
    consent = Consent.objects.get()
    assert consent.token in request_mail and "was sent nothing" in request_mail
    assert consent.routed and consent.routed_to == entry and consent.routed_email == REGISTERED
    assert consent.portrait.subject_email == TYPED, "the typed address stays on record"

    events = api.get(f"/api/portraits/{portrait_id}/consent-events/")
    assert [e["kind"] for e in events.json()] == ["requested", "consent_request_routed"]
    assert REGISTERED not in events.content.decode()
    client.force_login(creator)
    page = client.get(f"/portraits/{portrait_id}/").content.decode()
    assert "the address the person registered for their face" in page and REGISTERED not in page

    # The person's page works as usual: they approve with a live capture; the receipt comes to them, not the creator.
    approved = approve_live(public_api, consent_token_from(outbox), live_webm)
    assert approved.status_code == 200, approved.json()
    assert Consent.objects.get().status == "active"
    assert any("revoke" in m for m in _mail_to(outbox, REGISTERED))
    assert _mail_to(outbox, TYPED) == []


def test_a_declined_routed_request_never_reaches_the_typed_address(api, public_api, outbox, portrait_jpeg, live_webm):
    register_face(public_api, outbox, live_webm, email=REGISTERED, kind="send_to_me")
    portrait_id = _portrait(api, portrait_jpeg)
    _request(api, portrait_id)
    declined = decide(public_api, consent_token_from(outbox), capture=None, decision="decline")
    assert declined.status_code == 200, declined.json()
    assert _request(api, portrait_id).json()["routed"] is True, "asking again is routed again"
    assert len([m for m in _mail_to(outbox, REGISTERED) if "Subject: ada asks to animate" in m]) == 2
    assert _mail_to(outbox, TYPED) == []


def test_a_different_persons_portrait_goes_to_the_typed_address(api, public_api, outbox, other_person_jpeg, live_webm):
    register_face(public_api, outbox, live_webm, email=REGISTERED, kind="send_to_me")
    portrait_id = _portrait(api, other_person_jpeg, email="grace@example.com")
    response = _request(api, portrait_id)
    assert response.json()["routed"] is False and response.json()["sent_to"] == "grace@example.com"
    assert len(_mail_to(outbox, "grace@example.com")) == 1
    assert not Consent.objects.get().routed and not ConsentEvent.objects.filter(kind="consent_request_routed").exists()


def test_routing_threshold_is_bracketed_by_the_measured_distance(
    api, public_api, outbox, portrait_jpeg, other_person_jpeg, live_webm, monkeypatch
):
    from studio.models import Portrait

    entry = register_face(public_api, outbox, live_webm, email=REGISTERED, kind="send_to_me")
    same_id, other_id = _portrait(api, portrait_jpeg), _portrait(api, other_person_jpeg, email="grace@example.com")
    # Routing compares the portrait and its mirror image (both kept at upload) with the registered face.
    same, other = (
        face_match.photo_distance(
            face_match.PortraitDescriptors(np.asarray(portrait.descriptor), np.asarray(portrait.mirrored_descriptor)),
            np.asarray(entry.descriptor),
        )
        for portrait in (Portrait.objects.get(id=pid) for pid in (same_id, other_id))
    )
    assert same < face_match.REGISTRY_ROUTE_DISTANCE < other, (same, other)
    monkeypatch.setattr(face_match, "REGISTRY_ROUTE_DISTANCE", same - 1e-4)
    assert _request(api, same_id).json()["routed"] is False, "just outside the threshold"
    monkeypatch.setattr(face_match, "REGISTRY_ROUTE_DISTANCE", same)
    assert _request(api, same_id).json()["routed"] is True, "at the threshold"


def test_an_unconfirmed_or_removed_send_to_me_entry_does_not_route(api, public_api, outbox, portrait_jpeg, live_webm):
    entry = register_face(public_api, outbox, live_webm, email=REGISTERED, kind="send_to_me", confirm=False)
    portrait_id = _portrait(api, portrait_jpeg)
    assert _request(api, portrait_id).json()["routed"] is False, "unconfirmed"
    assert len(_mail_to(outbox, TYPED)) == 1

    confirm_token = outbox.links(r"/registry/confirm/([A-Za-z0-9_\-]+)/")[-1]
    assert public_api.post(f"/api/registry/confirm/{confirm_token}/").json() == {
        "id": str(entry.id),
        "kind": "send_to_me",
        "status": "active",
    }
    assert _request(api, portrait_id).json()["routed"] is True

    entry.refresh_from_db()
    removed = live_stream(public_api, f"/api/registry/remove/{entry.remove_token}/captures/", live_webm)
    assert removed.status_code == 200 and removed.json()["status"] == "removed"
    assert _request(api, portrait_id).json()["routed"] is False, "removed"
    assert len(_mail_to(outbox, TYPED)) == 2


def test_registering_send_to_me_needs_a_live_capture_and_its_emails_say_what_it_does(
    public_api, outbox, portrait_jpeg, live_webm
):
    started = public_api.post("/api/registry/", {"email": REGISTERED, "kind": "send_to_me"}, format="json").json()
    still = bytes_streamed(public_api, f"/api/registry/{started['id']}/captures/", portrait_jpeg)
    assert still.status_code in (400, 403) and still.json()["error"] == "liveness_required", still.json()
    assert RegistryEntry.objects.get().status == "capture_pending"

    register_face(public_api, outbox, live_webm, email="second@example.net", kind="send_to_me")
    confirm_mail, active_mail = _mail_to(outbox, "second@example.net")
    assert "send every consent request for the face" in confirm_mail
    assert "never to the address the user typed" in active_mail and "do-not-generate" not in active_mail


def test_an_unknown_kind_is_refused(public_api, client):
    response = public_api.post("/api/registry/", {"email": REGISTERED, "kind": "forward_all"}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "invalid"
    page = client.post("/registry/", {"email": REGISTERED, "kind": "forward_all"})
    assert page.status_code == 400 and "unknown registry kind" in page.content.decode()
    assert not RegistryEntry.objects.exists()


def test_the_registration_page_starts_a_send_to_me_entry(client):
    response = client.post("/registry/", {"email": REGISTERED, "kind": "send_to_me"})
    assert response.status_code == 302
    assert RegistryEntry.objects.get().kind == "send_to_me"


def test_a_do_not_generate_entry_still_refuses_and_routes_nothing(
    api, public_api, outbox, portrait_jpeg, other_person_jpeg, live_webm
):
    entry = register_face(public_api, outbox, live_webm, email=REGISTERED)
    assert entry.kind == "do_not_generate"
    refused = upload_portrait(api, portrait_jpeg, email=TYPED)
    assert refused.status_code == 403 and refused.json()["error"] == "face_opted_out"
    portrait_id = _portrait(api, other_person_jpeg, email="grace@example.com")
    assert _request(api, portrait_id).json()["routed"] is False


def test_the_per_address_limit_counts_the_registered_address(
    api, other_api, public_api, outbox, portrait_jpeg, live_webm, settings
):
    settings.CANDOR_CONSENT_REQUESTS_PER_ADDRESS_DAY = 1
    register_face(public_api, outbox, live_webm, email=REGISTERED, kind="send_to_me")
    assert _request(api, _portrait(api, portrait_jpeg, email="one@example.com")).status_code == 201
    # Another creator types another address for the same face: the registered address already had its one request.
    refused = _request(other_api, _portrait(other_api, portrait_jpeg, email="two@example.com"))
    assert refused.status_code == 429 and refused.json()["error"] == "throttled"
    assert REGISTERED not in refused.content.decode()
    assert _mail_to(outbox, "two@example.com") == []


def test_a_second_send_to_me_entry_for_a_registered_face_is_refused_so_the_first_keeps_its_requests(
    api, public_api, outbox, portrait_jpeg, live_webm, other_person_live_webm
):
    register_face(public_api, outbox, live_webm, email=REGISTERED, kind="send_to_me")
    # The creator registers the same face for their own inbox: refused at the capture, without naming the address.
    started = public_api.post("/api/registry/", {"email": TYPED, "kind": "send_to_me"}, format="json").json()
    refused = live_stream(public_api, f"/api/registry/{started['id']}/captures/", live_webm)
    assert refused.status_code == 409 and refused.json()["error"] == "face_already_registered"
    assert REGISTERED not in refused.content.decode()
    assert RegistryEntry.objects.get(id=started["id"]).status == "capture_pending"
    assert _mail_to(outbox, TYPED) == []
    # Another face, and the other kind for the same face, are not affected.
    register_face(public_api, outbox, other_person_live_webm, email="grace@example.com", kind="send_to_me")
    assert register_face(public_api, outbox, live_webm, email="third@example.com").status == "active"


def test_of_two_send_to_me_entries_captured_for_one_face_only_the_first_confirmed_is_kept(
    api, public_api, outbox, portrait_jpeg, live_webm
):
    first = register_face(public_api, outbox, live_webm, email=REGISTERED, kind="send_to_me", confirm=False)
    first_token = outbox.links(r"/registry/confirm/([A-Za-z0-9_\-]+)/")[-1]
    second = register_face(public_api, outbox, live_webm, email=TYPED, kind="send_to_me", confirm=False)
    second_token = outbox.links(r"/registry/confirm/([A-Za-z0-9_\-]+)/")[-1]
    assert public_api.post(f"/api/registry/confirm/{first_token}/").json()["status"] == "active"
    refused = public_api.post(f"/api/registry/confirm/{second_token}/")
    assert refused.status_code == 409 and refused.json()["error"] == "face_already_registered"
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("active", "email_pending")

    assert _request(api, _portrait(api, portrait_jpeg)).json()["routed"] is True
    assert [m for m in _mail_to(outbox, TYPED) if "Subject: ada asks" in m] == []
    assert len([m for m in _mail_to(outbox, REGISTERED) if "Subject: ada asks" in m]) == 1


def test_the_creators_page_form_says_only_that_the_request_was_routed(
    api, client, creator, public_api, outbox, portrait_jpeg, live_webm
):
    register_face(public_api, outbox, live_webm, email=REGISTERED, kind="send_to_me")
    portrait_id = _portrait(api, portrait_jpeg)
    client.force_login(creator)
    page = client.post(f"/portraits/{portrait_id}/consent-request/", {}, follow=True).content.decode()
    assert "The request was sent to the address the person registered for their face." in page
    assert REGISTERED not in page and f"sent to {TYPED}" not in page
    assert Consent.objects.get().routed and _mail_to(outbox, TYPED) == []


def test_erasing_a_routed_portrait_forgets_the_registered_address_on_its_consents(
    api, public_api, outbox, portrait_jpeg, live_webm
):
    register_face(public_api, outbox, live_webm, email=REGISTERED, kind="send_to_me")
    _request(api, _portrait(api, portrait_jpeg))
    assert approve_live(public_api, consent_token_from(outbox), live_webm).status_code == 200
    erased = public_api.post(f"/api/consent/erase/{Consent.objects.get().revoke_token}/")
    assert erased.status_code == 200 and erased.json() == {"status": "erased"}
    consent = Consent.objects.get()
    assert consent.routed and consent.routed_email == "" and consent.portrait.subject_email == ""
