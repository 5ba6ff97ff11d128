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
