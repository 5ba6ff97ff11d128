"""Login rate limiting: failures lock out the account and the address with a clear message until the window ends."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from tests.helpers import frozen_clock

pytestmark = pytest.mark.django_db

PASSWORD = "x-secret-1"  # the `creator` fixture's


def _login(username: str, password: str, *, address: str = "10.0.0.1", path: str = "/login/"):
    client = Client(REMOTE_ADDR=address)
    response = client.post(path, {"username": username, "password": password})
    return response, client


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_failed_logins_lock_the_account_with_a_clear_message_until_the_window_ends(creator, settings):
    for spelling in ["ada", "Ada", "ADA", "ada", "Ada"][: settings.CANDOR_LOGIN_FAILURES_PER_ACCOUNT - 1]:
        failed, _ = _login(spelling, "wrong-guess")
        assert failed.status_code == 200 and b"didn't match" in failed.content

    locked, _ = _login("ada", "wrong-guess")
    assert locked.status_code == 429 and int(locked["Retry-After"]) == settings.CANDOR_LOGIN_LOCKOUT_S
    assert b"Too many failed logins for this account or from your address. Try again in 15 minutes" in locked.content

    # Locked means locked: the right password, from anywhere, is not even tried.
    refused, client = _login("ada", PASSWORD, address="10.9.9.9")
    assert refused.status_code == 429 and not _logged_in(client)

    with frozen_clock(timezone.now() + timedelta(seconds=settings.CANDOR_LOGIN_LOCKOUT_S - 60)):
        still, client = _login("ada", PASSWORD)
    assert still.status_code == 429 and 0 < int(still["Retry-After"]) <= 60 and not _logged_in(client)

    with frozen_clock(timezone.now() + timedelta(seconds=settings.CANDOR_LOGIN_LOCKOUT_S + 1)):
        welcome, client = _login("ada", PASSWORD)
    assert welcome.status_code == 302 and welcome.url == "/" and _logged_in(client)


def test_a_successful_login_starts_the_accounts_count_afresh(creator, settings):
    for _ in range(2):
        for _ in range(settings.CANDOR_LOGIN_FAILURES_PER_ACCOUNT - 1):
            assert _login("ada", "wrong-guess", address="10.0.0.7")[0].status_code == 200
        assert _login("ada", PASSWORD, address="10.0.0.7")[0].status_code == 302


def test_guessing_many_accounts_from_one_address_locks_the_address(creator, settings):
    settings.CANDOR_LOGIN_FAILURES_PER_ADDRESS = 6
    for number in range(6):
        _login(f"someone-{number}", "wrong-guess", address="10.6.6.6")

    refused, client = _login("ada", PASSWORD, address="10.6.6.6")
    assert refused.status_code == 429 and b"Too many failed logins" in refused.content and not _logged_in(client)
    elsewhere, client = _login("ada", PASSWORD, address="10.7.7.7")
    assert elsewhere.status_code == 302 and _logged_in(client)


def test_the_admin_login_is_limited_too(settings):
    get_user_model().objects.create_user(username="root", password="x-root-secret", is_staff=True, is_superuser=True)
    for _ in range(settings.CANDOR_LOGIN_FAILURES_PER_ACCOUNT):
        _login("root", "wrong-guess", path="/admin/login/")

    refused, client = _login("root", "x-root-secret", path="/admin/login/")
    assert refused.status_code == 200 and not _logged_in(client)
    with frozen_clock(timezone.now() + timedelta(seconds=settings.CANDOR_LOGIN_LOCKOUT_S + 1)):
        welcome, client = _login("root", "x-root-secret", path="/admin/login/")
    assert welcome.status_code == 302 and _logged_in(client)


def test_the_api_takes_no_passwords_so_it_cannot_be_used_to_guess_them(creator):
    credentials = base64.b64encode(f"ada:{PASSWORD}".encode()).decode()
    response = Client().get("/api/portraits/", HTTP_AUTHORIZATION=f"Basic {credentials}")
    assert response.status_code == 401 and response.json()["error"] == "not_authenticated"
