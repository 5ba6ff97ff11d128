"""Signed receipts, the versioned consent text, the Ed25519-signed audit log and who may read which events."""

from __future__ import annotations

import base64
import email
import hashlib
import json
import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from consent.models import Consent, ConsentEvent
from tests.helpers import active_portrait, approve_live, consent_token_from, decide, render_request, upload_portrait

pytestmark = pytest.mark.django_db(transaction=True)


def _canonical(receipt: dict) -> bytes:
    return json.dumps(receipt, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_the_receipt_is_emailed_and_its_signature_verifies_with_the_published_key(
    api, public_api, outbox, portrait_jpeg, live_webm
):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    api.post(f"/api/portraits/{portrait_id}/consent-request/", {"max_renders": 3}, format="json")
    token = consent_token_from(outbox)
    shown = public_api.get(f"/api/consent/{token}/").json()["consent_text"]
    assert shown["sha256"] == hashlib.sha256(shown["text"].encode()).hexdigest()
    assert "at most 3 videos" in shown["text"]
    response = approve_live(public_api, token, live_webm, purposes=["education"], consent_text_sha256=shown["sha256"])
    assert response.status_code == 200, response.json()

    receipt_links = outbox.links(r"/api/consent/([A-Za-z0-9_\-]+)/receipt/")
    assert receipt_links == [token]
    body = public_api.get(f"/api/consent/{token}/receipt/").json()
    emailed = email.message_from_string(outbox.messages()[-1].split("-" * 79)[0])
    (attachment,) = [part for part in emailed.walk() if part.get_filename() == "candor-consent-receipt.json"]
    assert json.loads(attachment.get_payload(decode=True)) == body, "the emailed receipt is the downloadable one"
    key = public_api.get("/api/consent/public-key/").json()
    assert body["algorithm"] == key["algorithm"] == "Ed25519" and body["key_id"] == key["key_id"]
    public_key = load_pem_public_key(key["public_key_pem"].encode())
    public_key.verify(base64.b64decode(body["signature"]), _canonical(body["receipt"]))

    receipt = body["receipt"]
    assert receipt["decision"] == "approved" and receipt["person"] == "Eileen Collins"
    assert receipt["granted_scope"]["purposes"] == ["education"] and receipt["granted_scope"]["max_renders"] == 3
    assert receipt["consent_text"] == {"version": shown["version"], "sha256": shown["sha256"], "text": shown["text"]}
    identity = receipt["identity"]
    assert identity["match_distance"] <= identity["accept_distance"] < identity["refuse_distance"]
    assert receipt["liveness"]["passed"] is True
    consent = Consent.objects.get()
    assert (consent.consent_text_version, consent.consent_text_sha256) == (shown["version"], shown["sha256"])

    forged = {**receipt, "granted_scope": {**receipt["granted_scope"], "purposes": ["marketing"]}}
    with pytest.raises(InvalidSignature):
        public_key.verify(base64.b64decode(body["signature"]), _canonical(forged))


def test_a_decline_gets_a_signed_receipt_too(api, public_api, outbox, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")
    token = consent_token_from(outbox)
    assert decide(public_api, token, capture=None, decision="decline").json() == {"status": "declined"}
    assert "You declined" in outbox.messages()[-1]
    body = public_api.get(f"/api/consent/{token}/receipt/").json()
    key = load_pem_public_key(public_api.get("/api/consent/public-key/").json()["public_key_pem"].encode())
    key.verify(base64.b64decode(body["signature"]), _canonical(body["receipt"]))
    assert body["receipt"]["decision"] == "declined" and body["receipt"]["granted_scope"] is None


def test_a_decision_on_a_text_other_than_the_one_shown_is_refused(
    api, public_api, outbox, portrait_jpeg, live_capture, live_webm
):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")
    token = consent_token_from(outbox)
    response = approve_live(public_api, token, live_webm, consent_text_sha256="0" * 64)
    assert response.status_code == 409 and response.json()["error"] == "consent_text_changed"
    response = decide(public_api, token, capture=live_capture, consent_text_sha256="0" * 64)
    assert response.status_code == 409 and response.json()["error"] == "consent_text_changed"
    assert Consent.objects.get().status == "pending"


def test_audit_verify_passes_an_intact_log_and_names_an_edited_entry(
    api, public_api, outbox, portrait_jpeg, live_webm, capsys
):
    portrait_id = active_portrait(api, public_api, outbox, portrait_jpeg, live_webm, purposes=["education"])
    render_request(api, portrait_id, purpose="education")
    render_request(api, portrait_id, purpose="marketing")
    kinds = list(ConsentEvent.objects.values_list("kind", flat=True))
    assert kinds == ["requested", "approved", "render_allowed", "render_refused"]
    call_command("audit_verify")
    assert "4 entries" in capsys.readouterr().out

    approved = ConsentEvent.objects.get(kind="approved")
    ConsentEvent.objects.filter(id=approved.id).update(details={**approved.details, "purposes": ["marketing"]})
    with pytest.raises(CommandError, match=rf"entry {approved.id} is bad: .*edited"):
        call_command("audit_verify")


def test_audit_verify_catches_a_removed_entry_and_a_forged_signature(api, public_api, outbox, portrait_jpeg, live_webm):
    from consent.audit_log import event_body

    portrait_id = active_portrait(api, public_api, outbox, portrait_jpeg, live_webm)
    render_request(api, portrait_id)  # an entry after the approval, so that removing the approval breaks the chain
    events = list(ConsentEvent.objects.order_by("id"))
    assert [event.kind for event in events] == ["requested", "approved", "render_allowed"]
    # Rewriting an entry and its hash consistently still fails: the signature covers the hash.
    issued = events[1]  # the approval
    body = event_body(
        consent_id=str(issued.consent_id),
        registration_id=None,
        kind=issued.kind,
        details={"note": "rewritten"},
        at=issued.created_at.isoformat(),
        previous=issued.previous_hash,
    )
    ConsentEvent.objects.filter(id=issued.id).update(
        details={"note": "rewritten"}, entry_hash=hashlib.sha256(body).hexdigest()
    )
    with pytest.raises(CommandError, match=rf"entry {issued.id} is bad: .*signature"):
        call_command("audit_verify")
    ConsentEvent.objects.filter(id=issued.id).delete()
    with pytest.raises(CommandError, match=rf"entry {events[2].id} is bad: .*chain"):
        call_command("audit_verify")


def test_the_signing_key_is_private_to_its_owner(api, public_api, outbox, portrait_jpeg):
    upload_portrait(api, portrait_jpeg)
    from consent.signing import KEY_FILE, signing_key

    signing_key()
    mode = (Path(settings.KEYS_DIR) / KEY_FILE).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_the_creator_and_the_person_each_see_the_events_about_them(
    api, other_api, public_api, outbox, portrait_jpeg, live_webm
):
    portrait_id = active_portrait(api, public_api, outbox, portrait_jpeg, live_webm)
    render_request(api, portrait_id)
    token = Consent.objects.get().token
    creator_view = api.get(f"/api/portraits/{portrait_id}/consent-events/").json()
    person_view = public_api.get(f"/api/consent/{token}/events/").json()
    assert (
        [e["kind"] for e in creator_view]
        == [e["kind"] for e in person_view]
        == ["requested", "approved", "render_allowed"]
    )
    assert all(e["signature"] and len(e["entry_hash"]) == 64 for e in person_view)
    assert other_api.get(f"/api/portraits/{portrait_id}/consent-events/").status_code == 404
    assert public_api.get(f"/api/portraits/{portrait_id}/consent-events/").status_code == 401
