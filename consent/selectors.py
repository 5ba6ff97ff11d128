"""Consent queries: a consent by its link, its state now, the events the creator and the person may see, holds."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from core.errors import ApplicationError, ErrorCode

from .models import Consent, ConsentEvent, ConsentState, RegistryEntry, RegistryHold


def consent_get(*, token: str) -> Consent:
    """The consent a link's token names, or 404."""
    consent = Consent.objects.select_related("portrait", "requested_by").filter(token=token).first()
    if consent is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "this consent link does not exist")
    return consent


def portrait_failed_captures(*, portrait_id) -> int:
    """Failed live captures over all of a portrait's consent links: a new link continues the count."""
    return Consent.objects.filter(portrait_id=portrait_id).aggregate(total=Sum("failed_attempts"))["total"] or 0


# How long a creator's failed captures count, and how long reaching the limit pauses their requests.
CREATOR_FAILURE_WINDOW = timedelta(hours=24)


def creator_requests_paused_until(*, creator):
    """When a creator may send consent requests again; None when they may now.

    CANDOR_CREATOR_MAX_FAILED_CAPTURES failed captures on their links within CREATOR_FAILURE_WINDOW pause them for
    that long after the last of those failures. Counted from the append-only event log, which no save can undo.
    """
    limit = settings.CANDOR_CREATOR_MAX_FAILED_CAPTURES
    now = timezone.now()
    failures = list(
        ConsentEvent.objects.filter(
            kind="capture_refused",
            consent__requested_by=creator,
            created_at__gt=now - 2 * CREATOR_FAILURE_WINDOW,
        )
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    paused_until = None
    for first, last in zip(failures, failures[limit - 1 :], strict=False):
        if last - first <= CREATOR_FAILURE_WINDOW and last + CREATOR_FAILURE_WINDOW > now:
            paused_until = last + CREATOR_FAILURE_WINDOW
    return paused_until


def consent_get_by_revoke_token(*, revoke_token: str) -> Consent:
    consent = Consent.objects.select_related("portrait").filter(revoke_token=revoke_token).first()
    if consent is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "this revoke link does not exist")
    return consent


def consent_active_get(*, portrait) -> Consent | None:
    """The portrait's consent in force now (the latest approval not revoked, expired or past its end date)."""
    return (
        Consent.objects.filter(portrait=portrait, status=Consent.Status.ACTIVE, expires_at__gt=timezone.now())
        .order_by("-decided_at")
        .first()
    )


def consent_latest_get(*, portrait) -> Consent | None:
    return Consent.objects.filter(portrait=portrait).order_by("-created_at").first()


def consent_state_get(*, portrait) -> ConsentState:
    """none | pending | active | declined | revoked | expired | locked, for the creator's view."""
    if consent_active_get(portrait=portrait) is not None:
        return ConsentState.ACTIVE
    latest = consent_latest_get(portrait=portrait)
    if latest is None:
        return ConsentState.NONE
    if latest.status == Consent.Status.ACTIVE:
        return ConsentState.EXPIRED
    return ConsentState(latest.status)


def consent_state_now(consent: Consent) -> ConsentState:
    """active | revoked | expired | erased: one consent as the verifier and the render gate read it now."""
    if consent.portrait.erased_at is not None:
        return ConsentState.ERASED
    if consent.status == Consent.Status.ACTIVE and consent.expires_at and consent.expires_at <= timezone.now():
        return ConsentState.EXPIRED
    if consent.status == Consent.Status.ACTIVE:
        return ConsentState.ACTIVE
    if consent.status == Consent.Status.REVOKED:
        return ConsentState.REVOKED
    return ConsentState.EXPIRED


def consent_previews_left(consent: Consent) -> int:
    """Previews this consent still allows: its quota less those taken (render_previewed) and not given back because
    the engine failed (render_preview_failed).
    """
    events = ConsentEvent.objects.filter(consent=consent)
    taken = events.filter(kind="render_previewed").count() - events.filter(kind="render_preview_failed").count()
    return max(0, settings.CANDOR_MAX_PREVIEWS_PER_CONSENT - taken)


def consent_events_list(*, consent: Consent) -> QuerySet[ConsentEvent]:
    """What the person pictured sees through their own link: every event of this consent."""
    return ConsentEvent.objects.filter(consent=consent).order_by("id")


def portrait_consent_events_list(*, portrait) -> QuerySet[ConsentEvent]:
    """What the creator sees: the events of every consent asked for their portrait."""
    return ConsentEvent.objects.filter(consent__portrait=portrait).order_by("id")


def registry_entry_get(*, entry_id) -> RegistryEntry:
    entry = RegistryEntry.objects.filter(id=entry_id).first()
    if entry is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "this registration does not exist")
    return entry


def registry_entry_get_by_remove_token(*, remove_token: str) -> RegistryEntry:
    entry = RegistryEntry.objects.filter(remove_token=remove_token).first()
    if entry is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "this removal link does not exist")
    return entry


def registry_hold_list(*, owner) -> QuerySet[RegistryHold]:
    """The creator's uploads the registry held, newest first, with the portrait a release made."""
    return RegistryHold.objects.filter(owner=owner).select_related("portrait")


def registry_hold_get(*, owner, hold_id) -> RegistryHold:
    """The creator's own held upload, or 404 (another creator's hold is indistinguishable from a missing one)."""
    return get_object_or_404(RegistryHold.objects.filter(owner=owner), id=hold_id)
