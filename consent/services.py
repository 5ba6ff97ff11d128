"""Consent actions: request, show to the person pictured, decide with identity match, revoke; and the render gate."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from rest_framework import status

from inference import faces, media
from inference.errors import InferenceError
from studio.exceptions import ApplicationError

from .models import PURPOSES, Consent, ConsentEvent

TURNS = ["left", "right", "up", "down"]
CAPTURE_FRAMES = 12


@dataclass(frozen=True)
class Scope:
    purposes: list[str]
    languages: list[str]  # language codes, or ["any"]
    expires_at: datetime
    max_renders: int | None


def consent_event_append(*, consent: Consent, kind: str, details: dict | None = None) -> ConsentEvent:
    """Append to the hash-chained consent log (the chain makes silent edits detectable)."""
    details = details or {}
    previous = ConsentEvent.objects.order_by("-id").values_list("entry_hash", flat=True).first() or "0" * 64
    created_at = timezone.now()
    body = json.dumps(
        {"consent": str(consent.id), "kind": kind, "details": details, "at": created_at.isoformat(), "prev": previous},
        sort_keys=True,
    )
    return ConsentEvent.objects.create(
        consent=consent, kind=kind, details=details, created_at=created_at,
        previous_hash=previous, entry_hash=hashlib.sha256(body.encode()).hexdigest(),
    )


def _challenge_new() -> dict:
    rng = secrets.SystemRandom()
    turns = rng.sample(TURNS, 2)
    digits = " ".join(str(rng.randrange(10)) for _ in range(3))
    return {
        "id": uuid.uuid4().hex,
        "turns": turns,
        "digits": digits,
        "instructions": f"Look at the camera, turn your head {turns[0]}, then {turns[1]}, and read aloud: {digits}.",
    }


def _scope_requested(*, purposes, languages, expires_at, max_renders) -> Scope:
    purposes = list(purposes or PURPOSES)
    unknown = sorted(set(purposes) - set(PURPOSES))
    if unknown:
        raise ApplicationError("invalid_scope", f"unknown purposes {unknown}; choose from {PURPOSES}")
    languages = _languages_normalize(languages or ["any"])
    now = timezone.now()
    expires_at = expires_at or now + timedelta(days=365)
    if expires_at <= now:
        raise ApplicationError("invalid_scope", "expires_at must be in the future")
    if max_renders is not None and max_renders < 1:
        raise ApplicationError("invalid_scope", "max_renders must be at least 1")
    return Scope(purposes=sorted(set(purposes)), languages=languages, expires_at=expires_at, max_renders=max_renders)


def _languages_normalize(languages: list[str]) -> list[str]:
    from inference import speech

    codes = sorted({code.strip().lower() for code in languages if code.strip()})
    if not codes or "any" in codes:
        return ["any"]
    supported = speech.languages()
    unknown = [code for code in codes if code not in supported]
    if unknown:
        raise ApplicationError("unknown_language", f"unknown language codes {unknown}; supported: {sorted(supported)}")
    return codes


@transaction.atomic
def consent_request_create(
    *, portrait, requested_by, purposes=None, languages=None, expires_at=None, max_renders=None
) -> Consent:
    """Ask the person pictured for consent: a new pending record and an email with their own link."""
    if portrait.erased_at is not None:
        raise ApplicationError("portrait_erased", "this portrait was erased at the request of the person pictured")
    scope = _scope_requested(purposes=purposes, languages=languages, expires_at=expires_at, max_renders=max_renders)
    # A new request supersedes an open one, so only the newest link can decide.
    for stale in Consent.objects.filter(portrait=portrait, status=Consent.Status.PENDING):
        stale.status = Consent.Status.EXPIRED
        stale.save(update_fields=["status"])
        consent_event_append(consent=stale, kind="superseded")
    consent = Consent.objects.create(
        portrait=portrait,
        requested_by=requested_by,
        requested_purposes=scope.purposes,
        requested_languages=scope.languages,
        requested_expires_at=scope.expires_at,
        requested_max_renders=scope.max_renders,
        token=secrets.token_urlsafe(32),
        link_expires_at=timezone.now() + timedelta(days=settings.CANDOR_CONSENT_LINK_DAYS),
        challenge=_challenge_new(),
    )
    consent_event_append(consent=consent, kind="requested", details=_scope_json(scope))
    link = f"{settings.CANDOR_PUBLIC_URL}/consent/{consent.token}/"
    context = {"consent": consent, "portrait": portrait, "requester": requested_by, "link": link}
    transaction.on_commit(
        lambda: send_mail(
            subject=f"{requested_by.username} asks to animate your photo with Candor",
            message=render_to_string("consent/email_request.txt", context),
            from_email=None,
            recipient_list=[portrait.subject_email],
        )
    )
    return consent


def _scope_json(scope: Scope) -> dict:
    return {
        "purposes": scope.purposes,
        "languages": scope.languages,
        "expires_at": scope.expires_at.isoformat(),
        "max_renders": scope.max_renders,
    }


def consent_for_token(*, token: str) -> Consent:
    consent = Consent.objects.select_related("portrait", "requested_by").filter(token=token).first()
    if consent is None:
        raise ApplicationError("not_found", "this consent link does not exist", status_code=status.HTTP_404_NOT_FOUND)
    return consent


def consent_challenge_issue(*, consent: Consent) -> dict:
    """A fresh random challenge for this viewing; viewing never decides anything."""
    if consent.status == Consent.Status.PENDING:
        consent.challenge = _challenge_new()
        consent.save(update_fields=["challenge"])
        consent_event_append(consent=consent, kind="viewed")
    return consent.challenge


def _link_check_open(consent: Consent) -> None:
    if consent.status == Consent.Status.LOCKED:
        raise ApplicationError("link_locked", "too many failed identity checks; ask the requester for a new link", status_code=403)
    if consent.status != Consent.Status.PENDING:
        raise ApplicationError("link_used", f"this link was already used (consent is {consent.status})", status_code=409)
    if consent.link_expires_at <= timezone.now():
        raise ApplicationError("link_expired", "this consent link has expired; ask the requester for a new one", status_code=410)


def capture_distance(*, capture: bytes, descriptor: list[float]) -> float:
    """Identity distance between a still or video capture and a portrait descriptor (median over video frames)."""
    reference = np.asarray(descriptor)
    try:
        image = media.image_decode(capture, max_side=1280)
        frames = [image]
    except InferenceError:
        frames = _video_capture_frames(capture)
    distances = []
    for frame in frames:
        found = faces.faces_detect(frame)
        if found:
            distances.append(faces.descriptor_distance(faces.face_descriptor(frame, found[0]), reference))
    if not distances:
        raise ApplicationError("no_face", "no face was found in the capture; face the camera in good light")
    return float(np.median(distances))


def _video_capture_frames(capture: bytes) -> list[np.ndarray]:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".capture") as handle:
        handle.write(capture)
        handle.flush()
        try:
            info = media.video_probe(handle.name)
            step = max(1, info.frame_count // CAPTURE_FRAMES)
            return list(media.video_frames(handle.name, max_frames=CAPTURE_FRAMES, step=step))
        except InferenceError as error:
            raise ApplicationError(
                "unsupported_capture", "the capture must be a photo (JPEG, PNG, WebP) or a short video (MP4, WebM)"
            ) from error


def consent_decide(
    *, consent: Consent, decision: str, challenge_id: str, full_name: str,
    capture: bytes | None, purposes=None, languages=None, expires_at=None,
) -> Consent:
    """The person pictured approves (identity-matched, scope no wider than asked) or declines."""
    _link_check_open(consent)
    if challenge_id != consent.challenge.get("id"):
        raise ApplicationError("challenge_mismatch", "the challenge has changed; reload the page and try again")
    if not full_name.strip():
        raise ApplicationError("invalid", "full_name is required")
    if decision == "decline":
        with transaction.atomic():
            consent.status = Consent.Status.DECLINED
            consent.full_name = full_name.strip()
            consent.decided_at = timezone.now()
            consent.save()
            consent_event_append(consent=consent, kind="declined")
        return consent
    if decision != "approve":
        raise ApplicationError("invalid", "decision must be 'approve' or 'decline'")
    if not capture:
        raise ApplicationError("capture_required", "approving needs a capture of your face")
    scope = _scope_granted(consent, purposes=purposes, languages=languages, expires_at=expires_at)
    distance = capture_distance(capture=capture, descriptor=consent.portrait.descriptor)
    if distance > faces.IDENTITY_THRESHOLD:
        _attempt_failed(consent, distance)
    with transaction.atomic():
        consent.status = Consent.Status.ACTIVE
        consent.full_name = full_name.strip()
        consent.purposes = scope.purposes
        consent.languages = scope.languages
        consent.expires_at = scope.expires_at
        consent.max_renders = scope.max_renders
        consent.match_distance = distance
        consent.decided_at = timezone.now()
        consent.revoke_token = secrets.token_urlsafe(32)
        consent.save()
        consent_event_append(consent=consent, kind="approved", details={**_scope_json(scope), "match_distance": round(distance, 4)})
        context = {"consent": consent, "revoke_link": f"{settings.CANDOR_PUBLIC_URL}/consent/revoke/{consent.revoke_token}/"}
        transaction.on_commit(
            lambda: send_mail(
                subject="You approved a Candor consent: keep this email to revoke it",
                message=render_to_string("consent/email_approved.txt", context),
                from_email=None,
                recipient_list=[consent.portrait.subject_email],
            )
        )
    return consent


def _attempt_failed(consent: Consent, distance: float) -> None:
    with transaction.atomic():
        consent.failed_attempts += 1
        if consent.failed_attempts >= settings.CANDOR_CONSENT_MAX_ATTEMPTS:
            consent.status = Consent.Status.LOCKED
        consent.save(update_fields=["failed_attempts", "status"])
        consent_event_append(consent=consent, kind="identity_mismatch", details={"match_distance": round(distance, 4)})
    remaining = settings.CANDOR_CONSENT_MAX_ATTEMPTS - consent.failed_attempts
    raise ApplicationError(
        "identity_mismatch",
        f"the capture does not match the person in the portrait ({remaining} attempts left)",
        status_code=403,
    )


def _scope_granted(consent: Consent, *, purposes, languages, expires_at) -> Scope:
    purposes = sorted(set(purposes)) if purposes else list(consent.requested_purposes)
    wider = set(purposes) - set(consent.requested_purposes)
    if wider:
        raise ApplicationError("invalid_scope", f"purposes {sorted(wider)} were not requested")
    languages = _languages_normalize(languages) if languages else list(consent.requested_languages)
    if consent.requested_languages != ["any"] and (languages == ["any"] or set(languages) - set(consent.requested_languages)):
        raise ApplicationError("invalid_scope", f"languages must be among those requested: {consent.requested_languages}")
    expires_at = expires_at or consent.requested_expires_at
    if expires_at > consent.requested_expires_at or expires_at <= timezone.now():
        raise ApplicationError("invalid_scope", "expires_at must be in the future and no later than requested")
    return Scope(purposes=purposes, languages=languages, expires_at=expires_at, max_renders=consent.requested_max_renders)


def consent_revoke(*, revoke_token: str) -> Consent:
    """Revoke by the link from the confirmation email; pending renders of this consent are cancelled."""
    from studio.services import renders_cancel_for_consent

    consent = Consent.objects.filter(revoke_token=revoke_token).first()
    if consent is None:
        raise ApplicationError("not_found", "this revoke link does not exist", status_code=404)
    with transaction.atomic():
        if consent.status != Consent.Status.REVOKED:
            consent.status = Consent.Status.REVOKED
            consent.revoked_at = timezone.now()
            consent.save(update_fields=["status", "revoked_at"])
            cancelled = renders_cancel_for_consent(consent=consent)
            consent_event_append(consent=consent, kind="revoked", details={"renders_cancelled": cancelled})
    return consent


def consent_gate(*, portrait, purpose: str, language: str) -> Consent:
    """The active consent that covers this render, or a 403 saying what is missing."""
    from .selectors import consent_active_for_portrait

    consent = consent_active_for_portrait(portrait=portrait)
    if consent is None:
        raise ApplicationError("consent_required", "the person pictured has not given active consent for this portrait", status_code=403)
    if purpose not in consent.purposes:
        raise ApplicationError("consent_required", f"the consent does not cover the purpose '{purpose}' (covers {consent.purposes})", status_code=403)
    if consent.languages != ["any"] and language not in consent.languages:
        raise ApplicationError("consent_required", f"the consent does not cover the language '{language}' (covers {consent.languages})", status_code=403)
    if consent.max_renders is not None:
        used = consent.renders.exclude(status__in=["failed", "cancelled"]).count()
        if used >= consent.max_renders:
            raise ApplicationError("consent_required", f"the consent allows {consent.max_renders} videos and all are used", status_code=403)
    return consent


def consent_status_now(consent: Consent) -> str:
    """active | revoked | expired | erased, as the verifier reports it."""
    if consent.portrait.erased_at is not None:
        return "erased"
    if consent.status == Consent.Status.ACTIVE and consent.expires_at and consent.expires_at <= timezone.now():
        return "expired"
    if consent.status == Consent.Status.ACTIVE:
        return "active"
    if consent.status == Consent.Status.REVOKED:
        return "revoked"
    return "expired"


