"""Submissions repeated with the same Idempotency-Key, one after another or all at once, make a single render."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient

from consent.models import ConsentEvent
from studio.accounts import creator_token_rotate
from studio.models import Render
from tests.conftest import _client_for
from tests.production.helpers import render_submit

pytestmark = pytest.mark.django_db(transaction=True)

SHORT_TEXT = "Hello there."


def test_a_retried_submission_returns_the_first_render(api, consented_portrait):
    first = render_submit(api, consented_portrait, text=SHORT_TEXT, headers={"Idempotency-Key": "order-17"})
    again = render_submit(api, consented_portrait, text=SHORT_TEXT, headers={"Idempotency-Key": "order-17"})
    other = render_submit(api, consented_portrait, text=SHORT_TEXT, headers={"Idempotency-Key": "order-18"})
    assert first == again != other
    assert Render.objects.count() == 2
    assert ConsentEvent.objects.filter(kind="render_allowed").count() == 2


def test_without_a_key_every_submission_is_a_new_render(api, consented_portrait):
    assert render_submit(api, consented_portrait, text=SHORT_TEXT) != render_submit(
        api, consented_portrait, text=SHORT_TEXT
    )


def test_keys_belong_to_one_creator(api, other_creator, consented_portrait):
    from consent.models import Consent

    mine = render_submit(api, consented_portrait, text=SHORT_TEXT, headers={"Idempotency-Key": "k1"})
    # The other creator has no consent for this portrait: the same key does not reach the first creator's render.
    response = _client_for(other_creator).post(
        "/api/renders/",
        {"portrait": str(consented_portrait.id), "purpose": "marketing", "text": SHORT_TEXT, "language": "en"},
        format="multipart",
        headers={"Idempotency-Key": "k1"},
    )
    assert response.status_code == 404 and Consent.objects.count() == 1
    assert Render.objects.get().id.hex == mine.replace("-", "")


def test_an_overlong_key_is_refused(api, consented_portrait):
    response = api.post(
        "/api/renders/",
        {"portrait": str(consented_portrait.id), "purpose": "marketing", "text": SHORT_TEXT, "language": "en"},
        format="multipart",
        headers={"Idempotency-Key": "k" * 101},
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid"
    assert not Render.objects.exists()


def test_concurrent_duplicates_make_one_render(creator, consented_portrait):
    # One token for all eight clients: making a token per client would retire the ones made before it.
    token = creator_token_rotate(user=creator)

    def submit(_):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            response = client.post(
                "/api/renders/",
                {"portrait": str(consented_portrait.id), "purpose": "marketing", "text": SHORT_TEXT, "language": "en"},
                format="multipart",
                headers={"Idempotency-Key": "double-click"},
            )
            return response.status_code, response.json()["id"]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(submit, range(8)))
    assert {status for status, _ in answers} == {202}
    assert len({render_id for _, render_id in answers}) == 1
    assert Render.objects.filter(idempotency_key="double-click").count() == 1
    assert ConsentEvent.objects.filter(kind="render_allowed").count() == 1
