"""Consent queries: active consent, events the creator and the person may see, and the audit-log check."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import Consent, ConsentEvent, RegistryHold


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


def events_for_consent(*, consent: Consent) -> QuerySet[ConsentEvent]:
    """What the person pictured sees through their own link: every event of this consent."""
    return ConsentEvent.objects.filter(consent=consent).order_by("id")


def events_for_portrait(*, portrait) -> QuerySet[ConsentEvent]:
    """What the creator sees: the events of every consent asked for their portrait."""
    return ConsentEvent.objects.filter(consent__portrait=portrait).order_by("id")


def registry_holds_of(*, owner) -> QuerySet[RegistryHold]:
    """The creator's uploads the registry held, newest first, with the portrait a release made."""
    return RegistryHold.objects.filter(owner=owner).select_related("portrait")


def registry_hold_of(*, owner, hold_id) -> RegistryHold:
    """The creator's own held upload, or 404 (another creator's hold is indistinguishable from a missing one)."""
    return get_object_or_404(RegistryHold.objects.filter(owner=owner), id=hold_id)


@dataclass(frozen=True)
class AuditFault:
    entry_id: int
    reason: str


def audit_log_first_fault() -> AuditFault | None:
    """Walk the log in order: each entry's hash must match its content, chain onto the previous, and carry a valid signature."""
    from .services import GENESIS_HASH, event_body
    from .signing import signature_valid

    previous = GENESIS_HASH
    for event in ConsentEvent.objects.order_by("id").iterator():
        body = event_body(
            consent_id=str(event.consent_id) if event.consent_id else None,
            registration_id=str(event.registration_id) if event.registration_id else None,
            kind=event.kind,
            details=event.details,
            at=event.created_at.isoformat(),
            previous=event.previous_hash,
        )
        if event.previous_hash != previous:
            return AuditFault(
                event.id, "does not chain onto the entry before it (an entry was removed, inserted or reordered)"
            )
        if hashlib.sha256(body).hexdigest() != event.entry_hash:
            return AuditFault(event.id, "its content does not match its hash (the entry was edited)")
        if not event.signature or not signature_valid(event.entry_hash.encode(), event.signature):
            return AuditFault(event.id, "its signature is missing or does not verify with Candor's consent key")
        previous = event.entry_hash
    return None
