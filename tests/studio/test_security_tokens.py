"""Tokens cannot be enumerated: consent, revoke, registry and share links and API tokens answer a wrong one uniformly,
and
guessing is throttled.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import secrets
import uuid
import zlib
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from consent.models import Consent, RegistryEntry
from consent.services import consent_request_create
from studio import sharing
from studio.accounts import creator_token_rotate
from studio.models import Render, ShareLink
from studio.services import render_enqueue
from tests.helpers import frozen_clock

pytestmark = pytest.mark.django_db

# Every link whose path carries a capability, as (method, path with {t}, form data).
LINKS = [
    ("GET", "/api/consent/{t}/", None),
    ("POST", "/api/consent/{t}/", {"decision": "decline", "challenge_id": "x", "full_name": "Eve"}),
    ("POST", "/api/consent/{t}/captures/", None),
    ("GET", "/api/consent/{t}/receipt/", None),
    ("GET", "/api/consent/{t}/events/", None),
    ("GET", "/consent/{t}/", None),
    ("POST", "/consent/{t}/", {"decision": "decline", "challenge_id": "x", "full_name": "Eve"}),
    ("GET", "/consent/{t}/portrait.jpg", None),
    ("POST", "/api/consent/revoke/{t}/", None),
    ("POST", "/api/consent/erase/{t}/", None),
    ("POST", "/consent/revoke/{t}/", {"action": "revoke"}),
    ("POST", "/consent/revoke/{t}/", {"action": "erase"}),
    ("POST", "/api/registry/confirm/{t}/", None),
    ("POST", "/registry/confirm/{t}/", None),
    ("GET", "/api/registry/remove/{t}/", None),
    ("POST", "/api/registry/remove/{t}/captures/", None),
    ("GET", "/registry/remove/{t}/", None),
    ("GET", "/watch/{t}/", None),
    ("GET", "/watch/{t}/video.mp4", None),
    ("GET", "/watch/{t}/captions.vtt", None),
]


@pytest.fixture
def real_tokens(creator, consented_portrait) -> dict[str, str]:
    """One live token of every kind: a pending request's, an approved one's revoke link, a registration's, a share
    link.
    """
    Consent.objects.filter(portrait=consented_portrait).update(
        revoke_token=secrets.token_urlsafe(32)
    )  # approved: a revoke link
    consent_request_create(portrait=consented_portrait, requested_by=creator)
    entry = RegistryEntry.objects.create(
        email="eileen@example.com",
        status=RegistryEntry.Status.EMAIL_PENDING,
        confirm_token=secrets.token_urlsafe(32),
        remove_token=secrets.token_urlsafe(32),
    )
    render = render_enqueue(
        owner=creator, portrait=consented_portrait, purpose="marketing", text="Hi.", language="en", dispatch=False
    )
    return {
        "consent": Consent.objects.get(status=Consent.Status.PENDING).token,
        "revoke": Consent.objects.get(status=Consent.Status.ACTIVE).revoke_token,
        "confirm": entry.confirm_token,
        "remove": entry.remove_token,
        "share": sharing.share_link_create(render=render).token,
    }


def _request(client, method: str, path: str, data):
    return client.get(path) if method == "GET" else client.post(path, data or {})


def test_a_wrong_token_gets_the_same_404_whether_random_or_a_real_token_of_another_kind(real_tokens, settings):
    settings.CANDOR_TOKEN_FAILURES_PER_ADDRESS = 10_000  # this test guesses on purpose; the limit has its own test
    settings.CANDOR_CAPTURE_RATE = "10000/minute"  # so is every capture it posts
    for method, template, data in LINKS:
        answers = set()
        for token in (secrets.token_urlsafe(32), secrets.token_urlsafe(32), *real_tokens.values()):
            if _fits(template, token, real_tokens):
                continue
            response = _request(Client(), method, template.format(t=token), data)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            answers.add((response.status_code, body.replace(token.encode(), b"<token>")))
        assert len(answers) == 1, (method, template, answers)
        assert next(iter(answers))[0] == 404, (method, template, answers)


def _fits(template: str, token: str, real_tokens: dict[str, str]) -> bool:
    """Whether `token` is the real token for this link (then it is no guess)."""
    owner = {
        "/consent/revoke/": "revoke",
        "/consent/erase/": "revoke",
        "/confirm/": "confirm",
        "/remove/": "remove",
        "/watch/": "share",
    }
    kind = next((kind for fragment, kind in owner.items() if fragment in template), "consent")
    return real_tokens[kind] == token


def test_each_real_token_opens_its_own_link(real_tokens):
    client = Client()
    assert client.get(f"/api/consent/{real_tokens['consent']}/").status_code == 200
    assert client.get(f"/consent/revoke/{real_tokens['revoke']}/").status_code == 200
    assert client.get(f"/api/registry/remove/{real_tokens['remove']}/").status_code == 200
    assert client.get(f"/watch/{real_tokens['share']}/").status_code == 403, (
        "the render is not finished: found, but nothing to watch"
    )
    assert client.post(f"/api/registry/confirm/{real_tokens['confirm']}/").status_code == 200


def test_tokens_carry_enough_randomness_that_guessing_is_hopeless(real_tokens, creator, other_creator):
    for kind in ("consent", "revoke", "confirm", "remove", "share"):
        assert len(real_tokens[kind]) >= 43, kind  # 32 random bytes, URL-safe base64
    api_tokens = {creator_token_rotate(user=user) for user in (creator, other_creator)}
    assert len(api_tokens) == 2 and all(len(key) == 40 and int(key, 16) for key in api_tokens)  # 160 random bits


def test_a_share_token_names_nothing_and_a_second_link_is_unrelated(real_tokens, creator):
    render = Render.objects.get()
    token = real_tokens["share"]
    for secret in (str(render.id), render.id.hex, str(render.watermark_serial), creator.username):
        assert secret not in token, secret
        assert not any(secret.encode() in decoded for decoded in _decodings(token)), secret
    again = sharing.share_link_create(render=render).token
    # Two random 43-character tokens share their first 4 characters once in 64**4 (a first character once in 64).
    assert len(again) == len(token) and len(os.path.commonprefix([again, token])) < 4, "random, not derived"


def _decodings(token: str) -> list[bytes]:
    """The token read as base64 from each of its first characters (and inflated, as Django's signing compresses)."""
    decoded = []
    for part in re.split(r"[:.]", token):
        for start in range(4):
            rest = part[start:]
            try:
                raw = base64.urlsafe_b64decode(rest + "=" * (-len(rest) % 4))
            except binascii.Error:  # one character too many for base64: decode without it
                raw = base64.urlsafe_b64decode(rest[: len(rest) // 4 * 4])
            decoded.append(raw)
            with contextlib.suppress(zlib.error):
                decoded.append(zlib.decompress(raw))
    return decoded


def test_a_revoked_share_link_no_longer_opens_the_video(real_tokens, creator):
    render = Render.objects.get()
    page = Client()
    page.force_login(creator)
    token = real_tokens["share"]
    assert Client().get(f"/watch/{token}/").status_code == 403, "found (the render is not finished yet)"

    assert page.post(f"/renders/{render.id}/share/", {"action": "revoke"}).status_code == 302

    for suffix in ("", "video.mp4", "captions.vtt"):
        assert Client().get(f"/watch/{token}/{suffix}").status_code == 404, suffix
    assert ShareLink.objects.get(token=token).revoked_at is not None


def test_guessing_links_from_one_address_is_throttled_even_for_a_real_token(real_tokens, settings):
    settings.CANDOR_TOKEN_FAILURES_PER_ADDRESS = 5
    guesser = Client(REMOTE_ADDR="10.1.1.1")
    for _ in range(5):
        assert guesser.get(f"/consent/{secrets.token_urlsafe(32)}/").status_code == 404

    page = guesser.get(f"/consent/{real_tokens['consent']}/")
    assert page.status_code == 429 and int(page["Retry-After"]) == settings.CANDOR_TOKEN_LOCKOUT_S
    assert b"Too many links or tokens that do not exist were tried from your address" in page.content
    api = APIClient(REMOTE_ADDR="10.1.1.1").get(f"/api/consent/{real_tokens['consent']}/")
    assert (
        api.status_code == 429
        and api.json()["error"] == "throttled"
        and "try again in 15 minutes" in api.json()["detail"]
    )
    assert guesser.post(f"/api/consent/revoke/{real_tokens['revoke']}/").status_code == 429
    assert Consent.objects.get(revoke_token=real_tokens["revoke"]).status == Consent.Status.ACTIVE, (
        "nothing was done while throttled"
    )
    assert guesser.get("/how-candor-works/").status_code == 200, "pages without tokens stay open"
    assert Client(REMOTE_ADDR="10.2.2.2").get(f"/consent/{real_tokens['consent']}/").status_code == 200, (
        "other addresses are not affected"
    )

    with frozen_clock(timezone.now() + timedelta(seconds=settings.CANDOR_TOKEN_LOCKOUT_S + 1)):
        assert guesser.get(f"/consent/{real_tokens['consent']}/").status_code == 200


def test_refused_api_tokens_get_one_uniform_401_and_guessing_them_is_throttled(creator, settings):
    settings.CANDOR_TOKEN_FAILURES_PER_ADDRESS = 5
    rotated_away = creator_token_rotate(user=creator)
    valid = creator_token_rotate(user=creator)

    answers = set()
    for key in (secrets.token_hex(20), secrets.token_hex(20), secrets.token_hex(20), rotated_away, "not-even-hex"):
        response = APIClient(REMOTE_ADDR="10.3.3.3").get("/api/portraits/", HTTP_AUTHORIZATION=f"Token {key}")
        answers.add((response.status_code, response.content))
    assert answers == {(401, b'{"error":"authentication_failed","detail":"Invalid token."}')}

    owner = APIClient(REMOTE_ADDR="10.3.3.3")
    owner.credentials(HTTP_AUTHORIZATION=f"Token {valid}")
    assert owner.get("/api/portraits/").status_code == 429
    elsewhere = APIClient(REMOTE_ADDR="10.4.4.4")
    elsewhere.credentials(HTTP_AUTHORIZATION=f"Token {valid}")
    for _ in range(10):  # a creator's own 404s are not token guesses
        assert elsewhere.get(f"/api/renders/{uuid.uuid4()}/").status_code == 404
    assert elsewhere.get("/api/portraits/").status_code == 200


def test_the_api_makes_a_share_link_that_replaces_the_last_and_revokes_it(api, creator, consented_portrait, settings):
    render = render_enqueue(
        owner=creator, portrait=consented_portrait, purpose="marketing", text="Hi.", language="en", dispatch=False
    )
    render.video.save(f"{render.id}.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64), save=False)
    Render.objects.filter(id=render.id).update(
        status=Render.Status.DONE, video=render.video.name, finished_at=timezone.now()
    )

    first = api.post(f"/api/renders/{render.id}/share-link/")
    assert first.status_code == 201 and first.json()["url"].startswith(f"{settings.CANDOR_PUBLIC_URL}/watch/")
    first_path = urlsplit(first.json()["url"]).path
    assert Client().get(f"{first_path}video.mp4").status_code == 200
    second_path = urlsplit(api.post(f"/api/renders/{render.id}/share-link/").json()["url"]).path
    assert Client().get(first_path).status_code == 404, "a new link replaces the open one"
    assert Client().get(second_path).status_code == 200

    assert api.delete(f"/api/renders/{render.id}/share-link/").status_code == 204
    assert Client().get(f"{second_path}video.mp4").status_code == 404
