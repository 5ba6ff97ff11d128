"""Consent queries."""

from __future__ import annotations

from django.utils import timezone

from .models import Consent


def consent_active_for_portrait(*, portrait) -> Consent | None:
    return (
        Consent.objects.filter(portrait=portrait, status=Consent.Status.ACTIVE, expires_at__gt=timezone.now())
        .order_by("-decided_at")
        .first()
    )


def consent_latest_for_portrait(*, portrait) -> Consent | None:
    return Consent.objects.filter(portrait=portrait).order_by("-created_at").first()


def portrait_consent_state(portrait) -> str:
    """none | pending | active | declined | revoked | expired | locked, for the creator's view."""
    if consent_active_for_portrait(portrait=portrait) is not None:
        return "active"
    latest = consent_latest_for_portrait(portrait=portrait)
    if latest is None:
        return "none"
    if latest.status == Consent.Status.ACTIVE:
        return "expired"
    return latest.status
