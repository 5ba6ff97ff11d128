"""The person pictured's pages: what is asked, the portrait and the consent text; approving with a clip; revoking and
erasing.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest

from consent.models import Consent
from studio.models import Portrait
from tests.helpers import consent_token_from, upload_portrait

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_page_shows_the_request_and_a_clip_sent_from_it_waits_for_review(
    client, api, outbox, portrait_jpeg, live_capture
):
    """The page's live check streams to the capture API (tests/consent/test_live_capture.py); a recorded clip sent
    through the page's form is kept for a staff review, with the scope the person chose.
    """
    from consent.models import ConsentReview

    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    api.post(
        f"/api/portraits/{portrait_id}/consent-request/",
        {"max_renders": 4, "purposes": ["education", "support"]},
        format="json",
    )
    token = consent_token_from(outbox)
    page = client.get(f"/consent/{token}/")
    html = page.content.decode()
    assert page.status_code == 200
    consent = Consent.objects.get()
    for shown in (
        "ada asks to animate your photo",
        "teaching and training; customer support and help pages",
        "at most 4, plus up to 5 one-second previews",
        "The full consent text (version 2)",
        consent.challenge["instructions"],
        f"/consent/{token}/portrait.jpg",
        "candor/capture.js",
    ):
        assert shown in html, shown
    assert page.context["captures_url"] == f"/api/consent/{token}/captures/"
    photo = client.get(f"/consent/{token}/portrait.jpg")
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"

    clip = io.BytesIO(live_capture(consent.challenge))
    clip.name = "capture.webm"
    text_hash = page.context["text"].sha256
    until = (date.today() + timedelta(days=30)).isoformat()
    decided = client.post(
        f"/consent/{token}/",
        {
            "challenge_id": consent.challenge["id"],
            "consent_text_sha256": text_hash,
            "full_name": "Eileen Collins",
            "decision": "approve",
            "purposes": ["support"],
            "expires_at": until,
            "capture": clip,
        },
    )
    assert decided.status_code == 200, decided.content.decode().split('role="alert">')[-1][:300]
    assert "a member of Candor's staff reviews your live video" in decided.content.decode()
    consent.refresh_from_db()
    assert consent.status == "awaiting_review" and ConsentReview.objects.get().reasons == ["file_upload"]
    assert consent.purposes == ["support"] and consent.consent_text_sha256 == text_hash
    assert consent.expires_at.date().isoformat() == until
    assert client.get(f"/consent/{token}/portrait.jpg").status_code == 404, (
        "the photo is shown only while the request is open"
    )


def test_a_still_photo_on_the_page_is_refused_with_the_reason(client, api, outbox, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")
    token = consent_token_from(outbox)
    consent = Consent.objects.get()
    client.get(f"/consent/{token}/")
    consent.refresh_from_db()
    photo = io.BytesIO(portrait_jpeg)
    photo.name = "me.jpg"
    page = client.post(
        f"/consent/{token}/",
        {
            "challenge_id": consent.challenge["id"],
            "full_name": "E",
            "decision": "approve",
            "capture": photo,
        },
    )
    assert page.status_code == 400 and "a photo cannot prove that you are present" in page.content.decode()
    assert Consent.objects.get().status == "pending"


def test_the_revoke_page_revokes_and_erases(client, api, outbox, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")
    token = consent_token_from(outbox)
    consent = Consent.objects.get()
    client.get(f"/consent/{token}/")
    consent.refresh_from_db()
    client.post(
        f"/consent/{token}/", {"challenge_id": consent.challenge["id"], "full_name": "E", "decision": "decline"}
    )
    (revoke_token,) = outbox.links(r"/consent/revoke/([A-Za-z0-9_\-]+)/")
    assert "Erase your photo" in client.get(f"/consent/revoke/{revoke_token}/").content.decode()
    confirming = client.post(f"/consent/revoke/{revoke_token}/", {"action": "erase"})
    assert confirming.status_code == 200 and "This cannot be undone" in confirming.content.decode()
    assert Portrait.objects.get(id=portrait_id).erased_at is None, "erasing waits for the confirmation"
    erased = client.post(f"/consent/revoke/{revoke_token}/", {"action": "erase", "confirm": "yes"}, follow=True)
    assert erased.status_code == 200 and "Erased on" in erased.content.decode()
    portrait = Portrait.objects.get(id=portrait_id)
    assert portrait.erased_at is not None and not portrait.image and portrait.descriptor == []
    assert Consent.objects.get().status == "declined"


def test_the_registry_pages_register_and_remove_a_face_with_live_captures(
    client, api, outbox, portrait_jpeg, live_webm
):
    from consent.models import RegistryEntry
    from tests.live import live_stream

    assert "Never animate my face" in client.get("/registry/").content.decode()
    started = client.post("/registry/", {"email": "eileen@example.com"})
    entry = RegistryEntry.objects.get()
    assert started.status_code == 302 and started["Location"] == f"/registry/{entry.id}/"
    page = client.get(f"/registry/{entry.id}/")
    captures_url = f"/api/registry/{entry.id}/captures/"
    assert f'data-captures-url="{captures_url}"' in page.content.decode()
    assert client.post(f"/registry/{entry.id}/").status_code == 405, "the page takes no recorded file"
    sent = live_stream(client, captures_url, live_webm)
    assert sent.status_code == 200 and sent.json()["status"] == "email_pending", sent.json()
    (confirm_token,) = outbox.links(r"/registry/confirm/([A-Za-z0-9_\-]+)/")
    assert client.post(f"/registry/confirm/{confirm_token}/").status_code == 200
    assert upload_portrait(api, portrait_jpeg).json()["error"] == "face_opted_out"

    (remove_token,) = outbox.links(r"/registry/remove/([A-Za-z0-9_\-]+)/")
    page = client.get(f"/registry/remove/{remove_token}/")
    captures_url = f"/api/registry/remove/{remove_token}/captures/"
    assert f'data-captures-url="{captures_url}"' in page.content.decode()
    assert client.post(f"/registry/remove/{remove_token}/").status_code == 405
    removed = live_stream(client, captures_url, live_webm)
    assert removed.status_code == 200 and removed.json()["status"] == "removed", removed.json()
    assert upload_portrait(api, portrait_jpeg).status_code == 201
