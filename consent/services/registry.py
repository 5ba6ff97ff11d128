"""The face registry: register a face live, confirm by email, remove it; screen uploads against the do-not-generate
entries and route consent requests to the send-to-me entries.
"""

from __future__ import annotations

import secrets

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.errors import ApplicationError, ErrorCode
from core.http import public_url

from .. import face_match
from ..audit_log import consent_event_append
from ..models import LiveCapture, RegistryEntry, RegistryHold
from .capture import COUNTED_REFUSALS, CaptureCheck, capture_check
from .common import email_after_commit
from .live import live_capture_end, live_capture_take

# All the creator is told about a routed request: never the address.
ROUTED_NOTICE = "the request was sent to the address the person registered for their face"

_KIND_EMAILS = {
    RegistryEntry.Kind.DO_NOT_GENERATE: {
        "confirm": "Confirm: never animate my face with Candor",
        "active": "Your face is in Candor's do-not-generate registry",
    },
    RegistryEntry.Kind.SEND_TO_ME: {
        "confirm": "Confirm: send consent requests for my face to me",
        "active": "Consent requests for your face now come to you",
    },
}


def registry_entry_start(*, email: str, kind: str = RegistryEntry.Kind.DO_NOT_GENERATE) -> RegistryEntry:
    """Begin registering a face (not to be animated, or to receive its consent requests): a challenge to answer with a
    live capture.
    """
    if kind not in RegistryEntry.Kind.values:
        raise ApplicationError(
            ErrorCode.INVALID, f"unknown registry kind {kind!r}; choose from {RegistryEntry.Kind.values}"
        )
    entry = RegistryEntry.objects.create(
        email=email.strip().lower(), kind=kind, confirm_token=secrets.token_urlsafe(32)
    )
    consent_event_append(registration=entry, kind="registry_started", details={"kind": kind})
    return entry


def _registry_capture(
    entry: RegistryEntry, *, capture: LiveCapture, purpose: str, accept: face_match.AcceptLine | None = None
) -> CaptureCheck:
    """Check the entry's live capture (streamed for this entry and purpose); count a refusal on the entry. accept: the
    face a removal must match (capture_check describes the identity frames only until they match it).
    """
    if capture.registration_id != entry.id or capture.purpose != purpose:
        raise ApplicationError(ErrorCode.NOT_FOUND, "this live check belongs to another registration")
    if entry.failed_attempts >= settings.CANDOR_CONSENT_MAX_ATTEMPTS:
        raise ApplicationError(ErrorCode.LINK_LOCKED, "too many failed captures; start a new registration")
    stream = live_capture_take(capture=capture)
    try:
        check = capture_check(
            capture=stream.data,
            challenge={"id": str(capture.id), "turns": stream.turns, "digits": stream.digits},
            live=stream,
            accept=accept,
        )
    except ApplicationError as refusal:
        live_capture_end(capture=capture, refusal=refusal.code)
        if refusal.code in COUNTED_REFUSALS:
            RegistryEntry.objects.filter(id=entry.id).update(failed_attempts=F("failed_attempts") + 1)
            consent_event_append(registration=entry, kind="capture_refused", details={"reason": refusal.code})
        raise
    live_capture_end(capture=capture, refusal=None)
    return check


def registry_capture_submit(*, entry: RegistryEntry, capture: LiveCapture) -> RegistryEntry:
    """Store the live face's descriptor and email a confirmation link; the entry blocks nothing until confirmed."""
    if entry.status != RegistryEntry.Status.CAPTURE_PENDING:
        raise ApplicationError(ErrorCode.LINK_USED, f"this registration is {entry.status}")
    check = _registry_capture(entry, capture=capture, purpose=LiveCapture.Purpose.REGISTRY_REGISTER)
    _send_to_me_taken_check(entry, check.descriptor)
    with transaction.atomic():
        entry.descriptor = check.descriptor.tolist()
        entry.liveness = check.liveness
        entry.status = RegistryEntry.Status.EMAIL_PENDING
        entry.save(update_fields=["descriptor", "liveness", "status"])
        consent_event_append(registration=entry, kind="registry_captured", details={"liveness": check.liveness})
        link = public_url("registry-confirm", entry.confirm_token)
        email_after_commit(
            subject=_KIND_EMAILS[RegistryEntry.Kind(entry.kind)]["confirm"],
            template="consent/email_registry_confirm.txt",
            context={"link": link, "send_to_me": entry.kind == RegistryEntry.Kind.SEND_TO_ME},
            to=entry.email,
        )
    return entry


def registry_confirm(*, confirm_token: str) -> RegistryEntry:
    """The emailed link confirms the registration; from now on uploads of this face are refused (do-not-generate) or
    its consent requests come to this address (send-to-me).
    """
    entry = RegistryEntry.objects.filter(confirm_token=confirm_token).first()
    if entry is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "this confirmation link does not exist")
    if entry.status != RegistryEntry.Status.EMAIL_PENDING:
        raise ApplicationError(ErrorCode.LINK_USED, f"this registration is {entry.status}")
    # Checked again here: two registrations of one face may both have been captured before either was confirmed.
    _send_to_me_taken_check(entry, np.asarray(entry.descriptor))
    with transaction.atomic():
        entry.status = RegistryEntry.Status.ACTIVE
        entry.confirmed_at = timezone.now()
        entry.remove_token = secrets.token_urlsafe(32)
        entry.save(update_fields=["status", "confirmed_at", "remove_token"])
        consent_event_append(registration=entry, kind="registry_confirmed")
        link = public_url("registry-remove", entry.remove_token)
        email_after_commit(
            subject=_KIND_EMAILS[RegistryEntry.Kind(entry.kind)]["active"],
            template="consent/email_registry_active.txt",
            context={"link": link, "send_to_me": entry.kind == RegistryEntry.Kind.SEND_TO_ME},
            to=entry.email,
        )
    return entry


def _send_to_me_taken_check(entry: RegistryEntry, descriptor: np.ndarray) -> None:
    """Refuse a second send-to-me entry for a face already registered as one: the first registrant keeps its requests.

    Without this a later entry of the same face (or one made from a photo of it) could sit nearer a portrait than the
    owner's own entry and take its requests to another address. The refusal names no address.
    """
    if entry.kind != RegistryEntry.Kind.SEND_TO_ME:
        return
    taken, _distance = registry_route_find(descriptor)
    if taken is not None and taken.id != entry.id:
        raise ApplicationError(
            ErrorCode.FACE_ALREADY_REGISTERED,
            "this face is already registered to receive its consent requests; its owner can remove that registration "
            "with the link Candor emailed them",
        )


def registry_remove(*, entry: RegistryEntry, capture: LiveCapture) -> RegistryEntry:
    """Removal needs the emailed link and a live capture of the same face: nobody else can lift someone's opt-out or
    redirect their consent requests back to whatever address a creator types.
    """
    if entry.status != RegistryEntry.Status.ACTIVE:
        raise ApplicationError(ErrorCode.LINK_USED, f"this registration is {entry.status}")
    registered = np.asarray(entry.descriptor)
    check = _registry_capture(
        entry,
        capture=capture,
        purpose=LiveCapture.Purpose.REGISTRY_REMOVE,
        accept=face_match.AcceptLine(registered, face_match.REGISTRY_REMOVAL_DISTANCE),
    )
    distance = face_match.capture_distance(check.frame_descriptors, registered)
    if not face_match.removal_matches(distance):
        RegistryEntry.objects.filter(id=entry.id).update(failed_attempts=F("failed_attempts") + 1)
        consent_event_append(registration=entry, kind="capture_refused", details={"reason": "identity_mismatch"})
        raise ApplicationError(ErrorCode.IDENTITY_MISMATCH, "only the person whose face is registered can remove it")
    with transaction.atomic():
        entry.status = RegistryEntry.Status.REMOVED
        entry.removed_at = timezone.now()
        entry.descriptor = None
        entry.save(update_fields=["status", "removed_at", "descriptor"])
        consent_event_append(
            registration=entry, kind="registry_removed", details={"match_distance": round(distance, 4)}
        )
    return entry


def registry_screen(
    *,
    owner,
    descriptors: face_match.PortraitDescriptors,
    image_jpeg: bytes,
    subject_name: str,
    subject_email: str,
) -> None:
    """Refuse a portrait upload whose face (or its mirror image) is in the do-not-generate registry; hold a match in
    face_match's review band for a person to review instead of refusing it.
    """
    from django.core.files.base import ContentFile

    nearest, distance = registry_nearest(descriptors)
    decision = face_match.registry_decision(distance)
    if nearest is None or decision == "pass":
        return
    if decision == "refuse":
        consent_event_append(
            registration=nearest,
            kind="upload_refused",
            details={"owner": owner.username, "distance": round(distance, 4)},
        )
        raise ApplicationError(
            ErrorCode.FACE_OPTED_OUT, "the person in this photo asked that their face never be animated"
        )
    with transaction.atomic():
        hold = RegistryHold(
            owner=owner, entry=nearest, distance=distance, subject_name=subject_name, subject_email=subject_email
        )
        hold.image.save(f"{hold.id}.jpg", ContentFile(image_jpeg), save=False)
        hold.save()
        consent_event_append(
            registration=nearest, kind="upload_held", details={"hold": str(hold.id), "distance": round(distance, 4)}
        )
    raise ApplicationError(
        ErrorCode.FACE_HELD_FOR_REVIEW,
        f"this face resembles one whose owner opted out; the upload is held for review (reference {hold.id})",
    )


def registry_route_find(descriptor) -> tuple[RegistryEntry | None, float]:
    """The send-to-me entry a consent request for this face must go to (the nearest within
    face_match.REGISTRY_ROUTE_DISTANCE), or None, with its distance.
    """
    nearest, distance = registry_nearest(descriptor, kind=RegistryEntry.Kind.SEND_TO_ME)
    if nearest is None or distance > face_match.REGISTRY_ROUTE_DISTANCE:
        return None, distance
    return nearest, distance


def registry_nearest(
    descriptor: face_match.PortraitDescriptors | np.ndarray | list, *, kind: str = RegistryEntry.Kind.DO_NOT_GENERATE
) -> tuple[RegistryEntry | None, float]:
    """The active registry entry of this kind closest to a face (a descriptor, or a photo's with its mirror image's),
    and its distance (a linear scan: fine for thousands).
    """
    face = descriptor if isinstance(descriptor, face_match.PortraitDescriptors) else np.asarray(descriptor)
    nearest, distance = None, float("inf")
    active = RegistryEntry.objects.filter(status=RegistryEntry.Status.ACTIVE, kind=kind)
    for entry in active.only("id", "email", "descriptor"):
        candidate = face_match.photo_distance(face, np.asarray(entry.descriptor))
        if candidate < distance:
            nearest, distance = entry, candidate
    return nearest, distance
