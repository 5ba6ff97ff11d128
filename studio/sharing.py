"""Share links: an opaque, expiring, revocable address that lets anyone watch one finished video while its consent
stays active.

The token is 32 random bytes that name nothing (not the render, not its owner); the table says which render it opens.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError, ErrorCode

from .models import Render, ShareLink

SHARE_MAX_AGE_S = 30 * 24 * 3600


@transaction.atomic
def share_link_create(*, render: Render) -> ShareLink:
    """A new link to this render, valid for SHARE_MAX_AGE_S; it replaces the open ones (one live link at a time)."""
    share_links_revoke(render=render)
    return ShareLink.objects.create(
        render=render,
        token=secrets.token_urlsafe(32),
        expires_at=timezone.now() + timedelta(seconds=SHARE_MAX_AGE_S),
    )


def share_link_active(*, render: Render) -> ShareLink | None:
    """The render's newest link that still opens, or None."""
    return (
        ShareLink.objects.filter(render=render, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .order_by("-created_at")
        .first()
    )


@transaction.atomic
def share_links_revoke(*, render: Render) -> int:
    """Close every open link to this render at once; returns how many were open."""
    return ShareLink.objects.filter(render=render, revoked_at__isnull=True).update(revoked_at=timezone.now())


def render_for_share_token(*, token: str) -> Render:
    """The shared render, or ApplicationError(404) when the link is unknown, revoked, expired or its video deleted."""
    link = ShareLink.objects.select_related("render__portrait", "render__consent__portrait").filter(token=token).first()
    if link is None or link.revoked_at is not None:
        raise ApplicationError(ErrorCode.LINK_UNKNOWN, "this share link is not valid")
    if link.expires_at <= timezone.now():
        raise ApplicationError(
            ErrorCode.LINK_EXPIRED, "this share link has expired; ask the creator for a new one", status_code=404
        )
    return link.render
