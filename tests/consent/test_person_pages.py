"""The person pictured's pages: who asks and for what at a glance, choices kept after a refusal, revoke and erase
confirmed with both parties emailed, the videos made with their face, and the receipt in words.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest

from consent.models import Consent
from studio.services import render_enqueue
from tests.helpers import consent_token_from, portrait_with_active_consent, upload_portrait

pytestmark = pytest.mark.django_db(transaction=True)


def _asked(api, outbox, portrait_jpeg, **scope) -> tuple[str, str]:
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    created = api.post(f"/api/portraits/{portrait_id}/consent-request/", scope, format="json")
    assert created.status_code == 201, created.json()
    return portrait_id, consent_token_from(outbox)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_summary_names_who_asks_and_what_for_in_words(client, api, outbox, portrait_jpeg):
    _, token = _asked(
        api,
        outbox,
        portrait_jpeg,
        purposes=["education"],
        languages=["de", "fr"],
        max_renders=3,
        requester_name="Maya Weber",
        organisation="Acme Films",
        message="We make the training videos for your team.",
    )
    html = client.get(f"/consent/{token}/").content.decode()
    text = _text(html)
    assert "Maya Weber (Acme Films) asks to animate your photo" in text
    assert "Their message to you" in text and "We make the training videos for your team." in text
    assert "What for teaching and training" in text
    assert "Languages French, German" in text or "Languages German, French" in text
    assert "How many videos at most 3" in text
    assert "How to revoke At any time" in text
    # The summary comes first; the versioned text is folded below it.
    assert html.index("What is asked, at a glance") < html.index('<details class="card" id="consent-text">')
    # The person has no account: no log-in or sign-up links on their page.
    assert 'href="/login/"' not in html and 'href="/signup/"' not in html
    asked = client.get(f"/api/consent/{token}/").json()
    assert asked["requester_name"] == "Maya Weber (Acme Films)"
    assert asked["requester_message"] == "We make the training videos for your team."
    email = outbox.messages()[-1]
    assert "> Their name: Maya Weber (Acme Films)" in email
    assert "> Their message: We make the training videos for your team." in email


def test_a_refusal_keeps_every_choice_and_an_unticked_purpose_stays_unticked(client, api, outbox, portrait_jpeg):
    _, token = _asked(api, outbox, portrait_jpeg, purposes=["education", "support"], languages=["de", "en"])
    until = (date.today() + timedelta(days=30)).isoformat()
    client.get(f"/consent/{token}/")
    consent = Consent.objects.get()
    photo = io.BytesIO(portrait_jpeg)
    photo.name = "me.jpg"
    refused = client.post(
        f"/consent/{token}/",
        {
            "challenge_id": consent.challenge["id"],
            "choices_shown": "1",
            "full_name": "Eileen Collins",
            "decision": "approve",
            "purposes": ["support"],
            "languages": ["de"],
            "expires_at": until,
            "allow_label_removal": "on",
            "capture": photo,
        },
    )
    html = refused.content.decode()
    assert refused.status_code == 400, re.findall(r'class="error"[^>]*>([^<]*)<', html)
    assert 'id="decision-error"' in html and "a photo cannot prove that you are present" in html
    assert 'value="Eileen Collins"' in html
    assert 'value="support" checked' in html
    assert 'value="education">' in html, "the purpose the person unticked must stay unticked"
    assert 'value="de" checked' in html and 'value="en">' in html
    assert f'value="{until}"' in html
    assert 'id="allow_label_removal" checked' in html
    # The refusal is at the camera step, and the form's address brings the browser to it.
    assert html.index('id="live-check"') < html.index('id="decision-error"')
    assert 'action="/consent/' + token + '/#decision-error"' in html


def test_approving_with_every_purpose_unticked_is_refused_not_read_as_all(client, api, outbox, portrait_jpeg):
    _, token = _asked(api, outbox, portrait_jpeg, purposes=["education", "support"])
    client.get(f"/consent/{token}/")
    consent = Consent.objects.get()
    clip = io.BytesIO(b"\x1aE\xdf\xa3not a real clip")
    clip.name = "me.webm"
    refused = client.post(
        f"/consent/{token}/",
        {
            "challenge_id": consent.challenge["id"],
            "choices_shown": "1",
            "full_name": "E",
            "decision": "approve",
            "capture": clip,
        },
    )
    assert refused.status_code == 400 and "choose at least one purpose" in refused.content.decode()
    assert Consent.objects.get().status == "pending"


def _approved_with_revoke_link(creator, portrait_jpeg):
    portrait = portrait_with_active_consent(creator, portrait_jpeg)
    consent = Consent.objects.get(portrait=portrait)
    Consent.objects.filter(id=consent.id).update(revoke_token="revoke-me")
    return portrait, Consent.objects.get(id=consent.id)


def test_revoking_asks_to_confirm_shows_the_new_state_and_emails_both_parties(client, creator, outbox, portrait_jpeg):
    _, consent = _approved_with_revoke_link(creator, portrait_jpeg)
    page = _text(client.get("/consent/revoke/revoke-me/").content.decode())
    assert "Where it stands now Active" in page
    confirming = client.post("/consent/revoke/revoke-me/", {"action": "revoke"})
    assert "Revoke your consent?" in confirming.content.decode()
    assert Consent.objects.get().status == "active", "nothing is revoked before the confirmation"
    done = client.post("/consent/revoke/revoke-me/", {"action": "revoke", "confirm": "yes"})
    assert done.status_code == 302
    again = _text(client.get("/consent/revoke/revoke-me/").content.decode())
    assert "Revoked on" in again and "Revoke my consent" not in again
    mails = outbox.messages()
    to_person = [mail for mail in mails if "To: eileen@example.com" in mail and "You revoked" in mail]
    to_creator = [mail for mail in mails if "To: ada@example.com" in mail and "revoked their consent" in mail]
    assert len(to_person) == 1 and len(to_creator) == 1, [mail[:300] for mail in mails]


def test_erasing_says_what_is_deleted_and_emails_both_parties_once(client, creator, outbox, portrait_jpeg):
    portrait, _ = _approved_with_revoke_link(creator, portrait_jpeg)
    confirming = _text(client.post("/consent/revoke/revoke-me/", {"action": "erase"}).content.decode())
    assert "This cannot be undone" in confirming and "every video made with it" in confirming
    client.post("/consent/revoke/revoke-me/", {"action": "erase", "confirm": "yes"})
    portrait.refresh_from_db()
    assert portrait.erased_at is not None
    assert "Erased on" in _text(client.get("/consent/revoke/revoke-me/").content.decode())
    mails = outbox.messages()
    to_person = [mail for mail in mails if "To: eileen@example.com" in mail and "Subject: ada asks" not in mail]
    assert len(to_person) == 1 and "were erased from Candor" in to_person[0], "one email, not revoked + erased"
    assert any("To: ada@example.com" in mail and "was erased from Candor" in mail for mail in mails)


def test_the_person_sees_every_video_made_with_their_face(client, creator, outbox, portrait_jpeg):
    portrait, consent = _approved_with_revoke_link(creator, portrait_jpeg)
    render_enqueue(
        owner=creator, portrait=portrait, purpose="education", text="Hallo zusammen.", language="de", dispatch=False
    )
    page = _text(client.get(f"/consent/{consent.token}/videos/").content.decode())
    assert "State being made" in page
    assert "Purpose teaching and training" in page
    assert "Language German" in page
    assert "Visible label shown" in page
    assert "Hallo" not in page, "the person sees what was made, not the creator's script"


def test_after_declining_the_receipt_reads_in_words_and_the_registry_is_offered(client, api, outbox, portrait_jpeg):
    _, token = _asked(api, outbox, portrait_jpeg, requester_name="Maya Weber")
    client.get(f"/consent/{token}/")
    consent = Consent.objects.get()
    declined = client.post(
        f"/consent/{token}/", {"challenge_id": consent.challenge["id"], "full_name": "Eileen", "decision": "decline"}
    ).content.decode()
    assert "do-not-generate registry" in declined and 'href="/registry/?kind=do_not_generate"' in declined
    receipt = client.get(f"/consent/{token}/receipt/").content.decode()
    assert "You declined" in receipt and "Maya Weber" in _text(receipt)
    assert f'href="/api/consent/{token}/receipt/"' in receipt
    assert client.get(f"/api/consent/{token}/receipt/").json()["receipt"]["decision"] == "declined"
