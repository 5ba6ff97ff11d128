"""The person pictured chooses whether the creator may remove the visible AI label: off unless they allow it,
recorded in the consent and the signed receipt, and enforced wherever a render is made.
"""

from __future__ import annotations

import pytest

from consent.models import Consent
from studio.models import Render
from tests.helpers import (
    approve_live,
    consent_token_from,
    portrait_with_active_consent,
    render_request,
    upload_portrait,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _approved(api, public_api, outbox, portrait_jpeg, live_webm, **finish) -> tuple[str, str]:
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    assert api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json").status_code == 201
    token = consent_token_from(outbox)
    response = approve_live(public_api, token, live_webm, **finish)
    assert response.status_code == 200, response.json()
    return portrait_id, token


def test_without_the_persons_permission_a_video_without_the_label_is_refused(
    api, public_api, outbox, portrait_jpeg, live_webm
):
    portrait_id, token = _approved(api, public_api, outbox, portrait_jpeg, live_webm)
    refused = render_request(api, portrait_id, label="false")
    assert refused.status_code == 403, refused.json()
    assert refused.json()["error"] == "label_required"
    assert "did not allow videos without the visible" in refused.json()["detail"]
    assert not Render.objects.exists()
    consent = Consent.objects.get()
    assert consent.events.filter(kind="render_refused").count() == 1
    assert render_request(api, portrait_id, label="true").status_code == 202
    receipt = public_api.get(f"/api/consent/{token}/receipt/").json()["receipt"]
    assert receipt["granted_scope"]["allow_label_removal"] is False


def test_with_the_persons_permission_the_creator_may_remove_the_label(
    api, public_api, outbox, portrait_jpeg, live_webm
):
    portrait_id, token = _approved(api, public_api, outbox, portrait_jpeg, live_webm, allow_label_removal=True)
    assert Consent.objects.get().allow_label_removal is True
    made = render_request(api, portrait_id, label="false")
    assert made.status_code == 202, made.json()
    assert Render.objects.get().label is False
    receipt = public_api.get(f"/api/consent/{token}/receipt/").json()["receipt"]
    assert receipt["granted_scope"]["allow_label_removal"] is True


def test_the_consent_text_says_the_label_stays_unless_the_person_allows_otherwise(
    api, public_api, outbox, portrait_jpeg
):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")
    text = public_api.get(f"/api/consent/{consent_token_from(outbox)}/").json()["consent_text"]["text"]
    assert "unless the creator turns it off" not in text
    assert 'visible "AI-generated" label, unless I allow the creator to remove it' in text


def test_the_new_video_form_offers_no_label_choice_unless_a_person_allowed_it(client, creator, portrait_jpeg):
    page = client
    page.force_login(creator)
    portrait = portrait_with_active_consent(creator, portrait_jpeg)
    form = page.get(f"/renders/new/?portrait={portrait.id}").content.decode()
    assert 'name="label"' not in form, "the choice is hidden when no person pictured allowed it"
    Consent.objects.filter(portrait=portrait).update(allow_label_removal=True)
    form = page.get(f"/renders/new/?portrait={portrait.id}").content.decode()
    assert 'type="checkbox" name="label"' in form
