"""Creator accounts and their API tokens."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token


@transaction.atomic
def creator_token(*, username: str, create: bool, email: str = "", password: str | None = None) -> tuple[str, bool]:
    """(token key, whether the creator was created); LookupError when missing and not asked to create."""
    users = get_user_model()
    user = users.objects.filter(username=username).first()
    created = False
    if user is None:
        if not create:
            raise LookupError(f"no creator named '{username}' (use --create to make one)")
        user = users.objects.create_user(username=username, email=email, password=password)
        created = True
    token, _ = Token.objects.get_or_create(user=user)
    return token.key, created


def creator_token_rotate(*, user) -> str:
    """Replace the creator's API token (the old one stops working at once) and return the new key."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user).key


def creator_token_get(*, user) -> str:
    """The creator's API token, made on first use."""
    return Token.objects.get_or_create(user=user)[0].key
