"""After asking: the request form picks languages by name, asking again starts from the previous scope, the link's
progress is tracked (opened or not, expiry, the link and its QR code), and revoked, expired and erased videos and
portraits are shown as such everywhere."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from consent.models import Consent
from consent.services import consent_erase, consent_revoke
from studio.models import Render
from tests.helpers import upload_portrait
from tests.web.approval import consent_approved

pytestmark = pytest.mark.django_db

SCOPE = {"purposes": ["education"], "languages": ["de", "fr"], "valid_days": "30", "max_renders": "3"}


@pytest.fixture
def portrait_id(api, portrait_jpeg):
    return upload_portrait(api, portrait_jpeg).json()["id"]


@pytest.fixture
def asked(client, creator, portrait_id) -> Consent:
    client.force_login(creator)
    sent = client.post(f"/portraits/{portrait_id}/consent-request/", SCOPE)
    assert sent.status_code == 302, sent.content.decode()[-2000:]
    return Consent.objects.get(portrait_id=portrait_id)


def _checked(page: str, name: str) -> set[str]:
    return {
        value
        for tag in re.findall(rf'<input type="checkbox" name="{name}"[^>]*>', page)
        if " checked" in tag
        for value in re.findall(r'value="([^"]*)"', tag)
    }


def _field_value(page: str, name: str) -> str:
    tag = re.search(rf'<input type="number" name="{name}"[^>]*>', page)
    assert tag, name
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else ""


def test_the_consent_request_asks_for_languages_picked_by_name(asked):
    assert asked.requested_purposes == ["education"]
    assert asked.requested_languages == ["de", "fr"]
    assert asked.requested_max_renders == 3


def test_the_request_form_lists_languages_by_name(client, creator, portrait_id):
    client.force_login(creator)
    page = client.get(f"/portraits/{portrait_id}/").content.decode()
    assert re.search(
        r'<input type="checkbox" name="languages" value="de"[^>]*>\s*<label[^>]*>German \(de\)</label>', page
    )
    assert ">Klingon (piqd)</label>" in page  # CLDR has no name: the voice's title


def test_a_refused_request_keeps_every_choice(client, creator, portrait_id):
    client.force_login(creator)
    refused = client.post(f"/portraits/{portrait_id}/consent-request/", {**SCOPE, "languages": ["de", "tlh-xx"]})
    page = refused.content.decode()
    assert refused.status_code == 400 and "tlh-xx is not one of the available choices" in page
    assert _checked(page, "purposes") == {"education"}
    assert _checked(page, "languages") == {"de"}
    assert _field_value(page, "valid_days") == "30" and _field_value(page, "max_renders") == "3"
    assert not Consent.objects.exists()


def test_after_a_no_the_request_form_starts_from_the_previous_scope(client, asked, portrait_id):
    Consent.objects.filter(id=asked.id).update(status=Consent.Status.DECLINED, decided_at=timezone.now())
    page = client.get(f"/portraits/{portrait_id}/").content.decode()
    assert _checked(page, "purposes") == {"education"}
    assert _checked(page, "languages") == {"de", "fr"}
    assert _field_value(page, "valid_days") == "30" and _field_value(page, "max_renders") == "3"
    assert "Resend consent request</button>" in page
    # The dashboard's button opens that form; it sends nothing by itself.
    dashboard = client.get("/").content.decode()
    assert f'href="/portraits/{portrait_id}/#consent-request">Resend consent request' in dashboard
    assert f'action="/portraits/{portrait_id}/consent-request/"' not in dashboard


def test_the_portrait_page_tracks_the_request_link(client, creator, asked, portrait_id):
    page = client.get(f"/portraits/{portrait_id}/").content.decode()
    link = f"{settings.CANDOR_PUBLIC_URL}/consent/{asked.token}/"
    assert "<dd data-link-opened>not yet</dd>" in page
    assert f'value="{link}"' in page and 'data-copy="consent-link"' in page
    assert re.search(
        r'<svg role="img" aria-label="QR code of the consent link for Eileen Collins"[^>]*class="qr"', page
    )
    assert "in German, French" in page and f"{asked.link_expires_at:%Y-%m-%d %H:%M}" in page
    # The creator opening their own link does not count; the person pictured opening it does, once.
    client.get(f"/consent/{asked.token}/")
    asked.refresh_from_db()
    assert asked.link_opened_at is None
    Client().get(f"/consent/{asked.token}/")
    asked.refresh_from_db()
    first = asked.link_opened_at
    assert first is not None
    Client().get(f"/consent/{asked.token}/")
    asked.refresh_from_db()
    assert asked.link_opened_at == first
    page = client.get(f"/portraits/{portrait_id}/").content.decode()
    assert f"<dd data-link-opened>yes, first on {first:%Y-%m-%d %H:%M}</dd>" in page


def test_a_routed_or_expired_link_is_not_shown(client, asked, portrait_id):
    Consent.objects.filter(id=asked.id).update(routed=True, routed_email="own@example.com")
    page = client.get(f"/portraits/{portrait_id}/").content.decode()
    assert asked.token not in page and 'class="qr"' not in page
    Consent.objects.filter(id=asked.id).update(routed=False, link_expires_at=timezone.now() - timedelta(hours=1))
    page = client.get(f"/portraits/{portrait_id}/").content.decode()
    assert asked.token not in page and "expired on" in page


@pytest.fixture
def finished(api, portrait_id) -> Render:
    consent = consent_approved(portrait_id=portrait_id)
    consent.revoke_token = secrets.token_urlsafe(32)
    consent.save()
    made = api.post("/api/renders/", {"portrait": portrait_id, "purpose": "marketing", "text": "Hi.", "language": "en"})
    Render.objects.filter(id=made.json()["id"]).update(status=Render.Status.DONE)
    return Render.objects.get()


def _pages(client, render: Render) -> list[str]:
    return [client.get(path).content.decode() for path in ("/", f"/renders/{render.id}/")]


def test_a_revoked_video_is_shown_as_revoked_with_its_date_never_done(client, creator, finished):
    client.force_login(creator)
    assert all('class="badge done"' in page for page in _pages(client, finished))
    consent = consent_revoke(revoke_token=finished.consent.revoke_token)
    for page in _pages(client, finished):
        badge = 'class="badge revoked" data-role="status" data-consent-standing="revoked"'
        assert f"{badge}>consent revoked on {consent.revoked_at:%Y-%m-%d}" in page
        assert 'class="badge done"' not in page


def test_an_expired_video_is_shown_as_expired_with_its_date(client, creator, finished):
    client.force_login(creator)
    ended = timezone.now() - timedelta(days=2)
    Consent.objects.filter(id=finished.consent_id).update(expires_at=ended)
    for page in _pages(client, finished):
        assert f"consent expired on {ended:%Y-%m-%d}</span>" in page
        assert 'class="badge done"' not in page


def test_an_erased_portrait_leaves_a_row_saying_when(client, creator, finished):
    client.force_login(creator)
    consent_erase(revoke_token=finished.consent.revoke_token)
    finished.portrait.refresh_from_db()
    dashboard = client.get("/").content.decode()
    assert f'<span class="badge erased">erased on {finished.portrait.erased_at:%Y-%m-%d}</span>' in dashboard
    assert "erased portrait" in dashboard and "consent erased on" in dashboard
