"""Creator-side queries: every one is scoped to its owner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from consent.models import Consent, ConsentState
from consent.selectors import consent_state_now
from core.errors import ApplicationError, ErrorCode

from .models import Portrait, Render


def portrait_list(*, owner) -> QuerySet[Portrait]:
    return Portrait.objects.filter(owner=owner, erased_at__isnull=True).order_by("-created_at")


def portrait_get(*, owner, portrait_id) -> Portrait:
    """The owner's portrait, or 404 (another creator's portrait is indistinguishable from a missing one)."""
    return get_object_or_404(portrait_list(owner=owner), id=portrait_id)


def portrait_list_erased(*, owner) -> QuerySet[Portrait]:
    """The owner's portraits erased at the request of the person pictured: rows stripped to ids and dates."""
    return Portrait.objects.filter(owner=owner, erased_at__isnull=False).order_by("-erased_at")


def render_list(*, owner) -> QuerySet[Render]:
    return Render.objects.filter(owner=owner).select_related("portrait", "consent__portrait").order_by("-created_at")


def render_get(*, owner, render_id) -> Render:
    return get_object_or_404(render_list(owner=owner).select_related("consent__portrait"), id=render_id)


def portrait_list_consented(*, owner) -> QuerySet[Portrait]:
    """The owner's portraits that a render can use now (an active, unexpired consent)."""
    return (
        portrait_list(owner=owner)
        .filter(consents__status=Consent.Status.ACTIVE, consents__expires_at__gt=timezone.now())
        .distinct()
    )


def render_list_by_ids(*, owner, render_ids) -> QuerySet[Render]:
    return render_list(owner=owner).filter(id__in=render_ids)


def render_live_allowed(*, render_id) -> bool:
    """Whether a live render may go on: not cancelled (revocation cancels it) and its consent still active."""
    render = Render.objects.select_related("consent__portrait").get(id=render_id)
    return render.status == Render.Status.RUNNING and consent_state_now(render.consent) == ConsentState.ACTIVE


@dataclass(frozen=True)
class ConsentStanding:
    """Why a finished video no longer stands: its consent's state now and since when."""

    state: ConsentState
    since: datetime | None


def render_consent_standing(render: Render) -> ConsentStanding | None:
    """The consent's state when a finished video may no longer be shown (revoked, expired, erased), or None.

    Every list and page shows this instead of a plain "done", so a withdrawn video never looks available.
    """
    if render.status != Render.Status.DONE:
        return None
    state = consent_state_now(render.consent)
    if state == ConsentState.ACTIVE:
        return None
    since = {
        ConsentState.REVOKED: render.consent.revoked_at,
        ConsentState.ERASED: render.portrait.erased_at,
        ConsentState.EXPIRED: render.consent.expires_at,
    }.get(state)
    return ConsentStanding(state=state, since=since)


def render_video_unavailable(render: Render) -> ApplicationError | None:
    """Why a render's video may not be served now (not finished, deleted, consent no longer active), or None.

    The one rule for the dashboard's player, the API's video download and every other place that serves it.
    """
    if render.status != Render.Status.DONE:
        return ApplicationError(ErrorCode.NOT_READY, f"the video is {render.status}")
    if not render.video:
        return ApplicationError(ErrorCode.NOT_READY, "the video was deleted")
    consent_now = consent_state_now(render.consent)
    if consent_now != ConsentState.ACTIVE:
        return ApplicationError(
            ErrorCode.CONSENT_WITHDRAWN,
            f"the person pictured's consent is {consent_now}; the video is no longer available",
        )
    return None
