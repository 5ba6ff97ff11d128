"""Consent mail is no phishing relay: the name a creator types is one short line with no links, quoted below Candor's
own text, not HTML-escaped, and requests are limited per creator and per address asked.
"""

from __future__ import annotations

from datetime import timedelta
from email import message_from_string

import pytest
from django.utils import timezone

from studio.models import Portrait
from tests.helpers import frozen_clock, upload_portrait

pytestmark = pytest.mark.django_db


def _plain_text(raw: str) -> str:
    message = message_from_string(raw)
    part = next(part for part in message.walk() if part.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")


def test_the_request_mail_puts_candors_text_first_and_quotes_the_creators_name_unescaped(api, outbox, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg, name="Eileen Collins & Sons <Ltd>").json()["id"]
    assert api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json").status_code == 201

    body = _plain_text(outbox.messages()[-1])
    assert "&amp;" not in body and "&lt;" not in body
    quoted = "> Name of the person pictured: Eileen Collins & Sons <Ltd>"
    assert quoted in body
    assert body.startswith("Candor asks for your consent")
    link = body.index("/consent/")
    assert body.index("Candor did not write or check it") < body.index(quoted)
    assert link < body.index("What the requester typed") < body.index(quoted)
    assert body.count("Eileen") == 1, "the creator's text appears once, in the quote"


@pytest.mark.parametrize(
    "name",
    [
        "Eileen\nCollins",
        "Eileen Collins\r\nClick below to keep your account",
        "Eileen\u2028Collins",
        "Eileen, see https://evil.example/login",
        "Eileen www.evil.example",
        "Eileen evil.example/login",
        "Eileen eve@evil.example",
        "E" * 81,
    ],
)
def test_a_name_on_two_lines_with_a_link_or_too_long_is_refused_with_a_valid_photo(api, portrait_jpeg, name):
    response = upload_portrait(api, portrait_jpeg, name=name)
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == "invalid" and "subject_name" in response.json()["detail"], response.json()
    assert not Portrait.objects.exists()


@pytest.mark.parametrize("name", ["E" * 80, "Siobhán Ní Bhriain-O'Neill Jr.", "J.R.R. Tolkien"])
def test_a_plain_name_up_to_the_cap_is_accepted(api, portrait_jpeg, name):
    response = upload_portrait(api, portrait_jpeg, name=name)
    assert response.status_code == 201, response.json()
    assert Portrait.objects.get().subject_name == name


def test_the_upload_page_refuses_a_name_with_a_link(creator, client, portrait_jpeg):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(creator)
    page = client.post(
        "/portraits/new/",
        {
            "image": SimpleUploadedFile("p.jpg", portrait_jpeg, content_type="image/jpeg"),
            "subject_name": "Eileen https://evil.example",
            "subject_email": "eileen@example.com",
        },
    )
    assert page.status_code == 400 and b"may not contain a link" in page.content
    assert not Portrait.objects.exists()


def test_the_creator_past_the_hourly_limit_gets_429_until_the_window_frees_a_place(api, portrait_jpeg, settings):
    settings.CANDOR_CONSENT_REQUESTS_PER_CREATOR_HOUR = 3
    portrait_ids = [upload_portrait(api, portrait_jpeg, email=f"p{n}@example.com").json()["id"] for n in range(2)]
    start = timezone.now()
    for minute, portrait_id in enumerate([*portrait_ids, portrait_ids[0]]):
        with frozen_clock(start + timedelta(minutes=minute)):
            assert api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json").status_code == 201

    with frozen_clock(start + timedelta(minutes=10)):
        refused = api.post(f"/api/portraits/{portrait_ids[1]}/consent-request/", {}, format="json")
    assert refused.status_code == 429 and refused.json()["error"] == "throttled"
    assert int(refused["Retry-After"]) == 50 * 60, "until the first request is an hour old"
    assert "3 consent requests in the last hour" in refused.json()["detail"]

    with frozen_clock(start + timedelta(minutes=60, seconds=1)):
        assert api.post(f"/api/portraits/{portrait_ids[1]}/consent-request/", {}, format="json").status_code == 201


def test_one_address_is_asked_at_most_so_often_a_day_whoever_asks(api, other_api, portrait_jpeg, settings):
    settings.CANDOR_CONSENT_REQUESTS_PER_ADDRESS_DAY = 2
    mine = upload_portrait(api, portrait_jpeg, email="Target@Example.com").json()["id"]
    theirs = upload_portrait(other_api, portrait_jpeg, email="target@example.com").json()["id"]
    assert api.post(f"/api/portraits/{mine}/consent-request/", {}, format="json").status_code == 201
    assert other_api.post(f"/api/portraits/{theirs}/consent-request/", {}, format="json").status_code == 201

    refused = api.post(f"/api/portraits/{mine}/consent-request/", {}, format="json")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 23 * 3600
    assert "this address was sent 2 consent requests in the last day" in refused.json()["detail"]
    other = upload_portrait(api, portrait_jpeg, email="someone.else@example.com").json()["id"]
    assert api.post(f"/api/portraits/{other}/consent-request/", {}, format="json").status_code == 201


def test_the_portrait_page_says_429_with_retry_after(creator, client, api, portrait_jpeg, settings):
    settings.CANDOR_CONSENT_REQUESTS_PER_CREATOR_HOUR = 1
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    client.force_login(creator)
    assert client.post(f"/portraits/{portrait_id}/consent-request/").status_code == 302
    refused = client.post(f"/portraits/{portrait_id}/consent-request/")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert b"consent requests in the last hour" in refused.content
