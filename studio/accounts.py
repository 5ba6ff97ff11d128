"""Creator accounts and their API tokens.

A token is shown once, when it is made; the database keeps only its keyed hash (HMAC-SHA256 under a key derived from
SECRET_KEY), so a copy of the database lets nobody call the API. Rotating SECRET_KEY therefore retires every API
token: creators make new ones.
"""

from __future__ import annotations

import ipaddress
import secrets
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.crypto import salted_hmac
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .models import ApiToken

_DIGEST_SALT = "candor.studio.api-token"


def api_token_digest(token: str) -> str:
    """The keyed hash stored in place of a token (64 hex characters)."""
    return salted_hmac(_DIGEST_SALT, token, algorithm="sha256").hexdigest()


def _token_new(user) -> str:
    """A new token for `user`, replacing any old one; 160 random bits as 40 hex characters."""
    token = secrets.token_hex(20)
    ApiToken.objects.filter(user=user).delete()
    ApiToken.objects.create(user=user, digest=api_token_digest(token))
    return token


@transaction.atomic
def creator_token(
    *, username: str, create: bool, rotate: bool = False, email: str = "", password: str | None = None
) -> tuple[str | None, bool]:
    """(a new token, or None when the creator has one and `rotate` is off; whether the creator was created).

    LookupError when the creator is missing and not asked to create it.
    """
    users = get_user_model()
    user = users.objects.filter(username=username).first()
    created = False
    if user is None:
        if not create:
            raise LookupError(f"no creator named '{username}' (use --create to make one)")
        user = users.objects.create_user(username=username, email=email, password=password)
        created = True
    if ApiToken.objects.filter(user=user).exists() and not rotate:
        return None, created
    return _token_new(user), created


def creator_token_rotate(*, user) -> str:
    """Replace the creator's API token (the old one stops working at once) and return the new one, to show once."""
    with transaction.atomic():
        return _token_new(user)


def creator_token_exists(*, user) -> bool:
    return ApiToken.objects.filter(user=user).exists()


class HashedTokenAuthentication(TokenAuthentication):
    """DRF's `Authorization: Token <token>`, checked against the stored keyed hash."""

    def authenticate_credentials(self, key: str):
        token = ApiToken.objects.select_related("user").filter(digest=api_token_digest(key)).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return token.user, token


DEMO_USERNAME = "demo"
DEMO_PASSWORD = "candor-demo"


def demo_account_refusal(*, local_http: bool, host: str, public_url: str) -> str | None:
    """Why the demo account (a password everyone knows) may not exist here, or None on a loopback-only HTTP server."""
    if not local_http:
        return "CANDOR_LOCAL_HTTP is off, so this may be a public server"
    for name, value in (("CANDOR_HOST", host), ("CANDOR_PUBLIC_URL", urlsplit(public_url).hostname or "")):
        if not _is_loopback(value):
            return f"{name} ({value or 'empty'}) is not a loopback address"
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@transaction.atomic
def demo_account_ensure() -> str:
    """The demo creator (made if missing, its known password set) and a new API token for it, returned."""
    users = get_user_model()
    user = users.objects.filter(username=DEMO_USERNAME).first()
    if user is None:
        user = users.objects.create_user(username=DEMO_USERNAME, email="demo@candor.localhost")
    user.set_password(DEMO_PASSWORD)
    user.save(update_fields=["password"])
    return _token_new(user)
