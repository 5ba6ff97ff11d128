"""Human review of uploads the registry held: release the portrait or confirm the block."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError, ErrorCode
from core.http import public_url

from .. import signals
from ..audit_log import consent_event_append
from ..models import RegistryHold
from .common import email_after_commit

# A reviewer's outcomes for a held upload: the portrait goes ahead, or the block stands.
REGISTRY_REVIEW_DECISIONS = ("release", "refuse")


def registry_hold_release(*, hold: RegistryHold, reviewer, decision: str, note: str = "") -> RegistryHold:
    """A reviewer's outcome for an upload the registry held: `release` makes the portrait (consent may then be asked),
    `refuse` confirms the block; either way the held photo is deleted, the outcome logged and the creator told."""
    if not (reviewer.is_active and reviewer.is_staff and reviewer.has_perm("consent.change_registryhold")):
        raise ApplicationError(
            ErrorCode.PERMISSION_DENIED, "only staff allowed to change registry holds can review them"
        )
    if decision not in REGISTRY_REVIEW_DECISIONS:
        raise ApplicationError(ErrorCode.INVALID, f"decision must be one of {list(REGISTRY_REVIEW_DECISIONS)}")
    with transaction.atomic():
        hold = RegistryHold.objects.select_for_update().select_related("owner", "entry").get(id=hold.id)
        if hold.status != RegistryHold.Status.HELD:
            raise ApplicationError(ErrorCode.ALREADY_REVIEWED, f"this upload was already reviewed ({hold.status})")
        subject_name, held_image = hold.subject_name, hold.image.name
        if decision == "release":
            signals.registry_hold_released.send(sender=RegistryHold, hold=hold)
            hold.status = RegistryHold.Status.RELEASED
        else:
            hold.status = RegistryHold.Status.REFUSED
        # The portrait (if any) now holds the photo and the subject's details; the hold keeps only the decision.
        hold.image, hold.subject_name, hold.subject_email = "", "", ""
        hold.reviewed_at, hold.reviewed_by, hold.review_note = timezone.now(), reviewer, note.strip()
        hold.save()
        consent_event_append(
            registration=hold.entry,
            kind=f"hold_{hold.status}",
            details={
                "hold": str(hold.id),
                "reviewer": reviewer.username,
                "note": hold.review_note,
                "portrait": str(hold.portrait_id) if hold.portrait_id else None,
            },
        )
        transaction.on_commit(lambda: hold.image.storage.delete(str(held_image)))
        if hold.owner.email:
            link = public_url("portrait", hold.portrait_id) if hold.portrait_id else ""
            email_after_commit(
                subject=f"Your portrait upload held for review was {hold.status}",
                template="consent/email_registry_hold_reviewed.txt",
                context={"hold": hold, "subject_name": subject_name, "link": link},
                to=hold.owner.email,
            )
    return hold
