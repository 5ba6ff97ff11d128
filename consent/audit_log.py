"""The signed, hash-chained log of every consent event: append an entry, and check the whole chain.

Each entry's hash covers its canonical body and the previous entry's hash (so an edit or deletion breaks
the chain), and is signed with Candor's Ed25519 key (so a rewritten chain cannot be re-signed).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import signing
from .models import Consent, ConsentEvent, RegistryEntry
from .signing import signature_valid

GENESIS_HASH = "0" * 64

EVENT_APPEND_TRIES = 5


def event_body(
    *, consent_id: str | None, registration_id: str | None, kind: str, details: dict, at: str, previous: str
) -> bytes:
    """The canonical bytes an entry's hash covers (entries without a registry entry keep the original shape)."""
    body = {"consent": consent_id, "kind": kind, "details": details, "at": at, "prev": previous}
    if registration_id is not None:
        body["registration"] = registration_id
    return json.dumps(body, sort_keys=True).encode()


def consent_event_append(
    *, consent: Consent | None = None, registration: RegistryEntry | None = None, kind: str, details: dict | None = None
) -> ConsentEvent:
    """Append to the hash-chained log and sign the entry (the chain makes silent edits detectable, the signature
    forgery).
    """
    details = details or {}
    tries = 1
    while True:
        try:
            with transaction.atomic():
                return _event_create(consent=consent, registration=registration, kind=kind, details=details)
        except IntegrityError:
            # Another process appended after the same entry first (previous_hash is unique): chain onto theirs.
            if tries >= EVENT_APPEND_TRIES:
                raise
            tries += 1


def _event_create(*, consent, registration, kind: str, details: dict) -> ConsentEvent:
    previous = ConsentEvent.objects.order_by("-id").values_list("entry_hash", flat=True).first() or GENESIS_HASH
    created_at = timezone.now()
    body = event_body(
        consent_id=str(consent.id) if consent else None,
        registration_id=str(registration.id) if registration else None,
        kind=kind,
        details=details,
        at=created_at.isoformat(),
        previous=previous,
    )
    entry_hash = hashlib.sha256(body).hexdigest()
    return ConsentEvent.objects.create(
        consent=consent,
        registration=registration,
        kind=kind,
        details=details,
        created_at=created_at,
        previous_hash=previous,
        entry_hash=entry_hash,
        signature=signing.sign(entry_hash.encode()),
    )


@dataclass(frozen=True)
class AuditFault:
    entry_id: int
    reason: str


def audit_log_first_fault() -> AuditFault | None:
    """Walk the log in order: each entry's hash must match its content, chain onto the previous, and carry a valid
    signature.
    """

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
