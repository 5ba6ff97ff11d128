"""Share links: a signed, expiring address that lets anyone watch one finished video while its consent stays active."""

from __future__ import annotations

from django.core import signing

from core.errors import ApplicationError, ErrorCode

from .models import Render

SHARE_SALT = "candor.render.share"
SHARE_MAX_AGE_S = 30 * 24 * 3600


def share_token_make(*, render: Render) -> str:
    """A token naming the render, signed with the secret key, so that no table of links is needed."""
    return signing.dumps(str(render.id), salt=SHARE_SALT, compress=True)


def render_for_share_token(*, token: str) -> Render:
    """The shared render, or ApplicationError(404) when the link is forged, expired or its video deleted."""
    try:
        render_id = signing.loads(token, salt=SHARE_SALT, max_age=SHARE_MAX_AGE_S)
    except signing.SignatureExpired as error:
        raise ApplicationError(
            ErrorCode.LINK_EXPIRED, "this share link has expired; ask the creator for a new one", status_code=404
        ) from error
    except signing.BadSignature as error:
        raise ApplicationError(ErrorCode.LINK_UNKNOWN, "this share link is not valid") from error
    render = Render.objects.select_related("portrait", "consent__portrait").filter(id=render_id).first()
    if render is None:
        raise ApplicationError(ErrorCode.LINK_UNKNOWN, "this share link is not valid")
    return render
