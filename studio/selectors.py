"""Creator-side queries: every one is scoped to its owner."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import Portrait, Render


def portraits_of(*, owner) -> QuerySet[Portrait]:
    return Portrait.objects.filter(owner=owner, erased_at__isnull=True).order_by("-created_at")


def portrait_of(*, owner, portrait_id) -> Portrait:
    """The owner's portrait, or 404 (another creator's portrait is indistinguishable from a missing one)."""
    return get_object_or_404(portraits_of(owner=owner), id=portrait_id)


def renders_of(*, owner) -> QuerySet[Render]:
    return Render.objects.filter(owner=owner).select_related("portrait").order_by("-created_at")


def render_of(*, owner, render_id) -> Render:
    return get_object_or_404(renders_of(owner=owner).select_related("consent__portrait"), id=render_id)


def portraits_with_active_consent(*, owner) -> QuerySet[Portrait]:
    """The owner's portraits that a render can use now (an active, unexpired consent)."""
    return (
        portraits_of(owner=owner).filter(consents__status="active", consents__expires_at__gt=timezone.now()).distinct()
    )


def renders_by_ids(*, owner, render_ids) -> QuerySet[Render]:
    return renders_of(owner=owner).filter(id__in=render_ids)


def live_render_allowed(*, render_id) -> bool:
    """Whether a live render may go on: not cancelled (revocation cancels it) and its consent still active."""
    from consent.selectors import consent_state_now

    render = Render.objects.select_related("consent__portrait").get(id=render_id)
    return render.status == Render.Status.RUNNING and consent_state_now(render.consent) == "active"
