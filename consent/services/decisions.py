"""The person pictured decides: approve (live, identity-matched, scope no wider than asked) or decline; the signed
receipt.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.errors import ApplicationError, ErrorCode
from core.languages import languages_normalize

from .. import face_match
from ..audit_log import consent_event_append
from ..liveness import MOUTH_MIN_RANGE, SYNC_MIN_CORRELATION
from ..models import Consent, LiveCapture
from ..selectors import portrait_failed_captures
from .capture import COUNTED_REFUSALS, CaptureCheck, PortraitReference, capture_check, portrait_reference
from .common import Scope, scope_json
from .live import live_capture_end, live_capture_take
from .receipts import receipt_email
from .requests import ConsentText, challenge_open, consent_text
from .review import consent_review_open, identity_review_possible, review_reasons


def consent_link_check_open(consent: Consent) -> None:
    """Refuse a link that can no longer be answered: locked, expired, or already decided."""
    if consent.status == Consent.Status.LOCKED:
        raise ApplicationError(
            ErrorCode.LINK_LOCKED, "too many failed live captures on this link; ask the requester for a new link"
        )
    if consent.status == Consent.Status.EXPIRED and consent.decided_at is None:
        raise ApplicationError(ErrorCode.LINK_EXPIRED, "this consent link has expired; ask the requester for a new one")
    if consent.status != Consent.Status.PENDING:
        raise ApplicationError(ErrorCode.LINK_USED, f"this link was already used (consent is {consent.status})")
    if consent.link_expires_at <= timezone.now():
        raise ApplicationError(ErrorCode.LINK_EXPIRED, "this consent link has expired; ask the requester for a new one")


def consent_decide(
    *,
    consent: Consent,
    decision: str,
    challenge_id: str,
    full_name: str,
    capture: bytes | None,
    purposes=None,
    languages=None,
    expires_at=None,
    consent_text_sha256: str | None = None,
    allow_label_removal: bool = False,
) -> Consent:
    """The person pictured declines, or approves with a recorded video answering the link's challenge: such a file
    proves nothing about when it was made, so its approval always waits for a staff review (awaiting_review); only a
    live capture (consent_approve_live) activates consent by itself. A signed receipt follows either way.
    """
    consent_link_check_open(consent)
    if not challenge_id or challenge_id != consent.challenge.get("id"):
        raise ApplicationError(ErrorCode.CHALLENGE_MISMATCH, "the challenge has changed; reload the page and try again")
    if not challenge_open(consent.challenge):
        raise ApplicationError(
            ErrorCode.CHALLENGE_MISMATCH, "the challenge has expired; reload the page and answer the new one"
        )
    text = _text_check(consent, full_name=full_name, consent_text_sha256=consent_text_sha256)
    if decision == "decline":
        with transaction.atomic():
            _decision_record(consent, Consent.Status.DECLINED, full_name=full_name, text=text)
            consent_event_append(consent=consent, kind="declined", details=_text_json(text))
            receipt_email(consent)
        return consent
    if decision != "approve":
        raise ApplicationError(ErrorCode.INVALID, "decision must be 'approve' or 'decline'")
    if not capture:
        raise ApplicationError(
            ErrorCode.LIVE_CAPTURE_REQUIRED,
            "approving needs the live check (camera and microphone); a recorded video can be sent for a staff review",
        )
    scope = _scope_granted(consent, purposes=purposes, languages=languages, expires_at=expires_at)
    portrait = portrait_reference(consent.portrait)
    descriptors = _portrait_descriptors(consent, portrait)
    try:
        # Digits are recognized where the person reads them in English: a request for English only.
        check = capture_check(
            capture=capture,
            challenge=consent.challenge,
            english=consent.requested_languages == ["en"],
            portrait=portrait,
            accept=face_match.AcceptLine(descriptors, face_match.CONSENT_ACCEPT_DISTANCE),
        )
        distance = _identity_check(check, descriptors, source="file")
    except ApplicationError as refusal:
        if refusal.code in COUNTED_REFUSALS:
            _attempt_failed(consent, refusal, challenge_id=challenge_id)
        raise
    return _approval_record(
        consent,
        check=check,
        capture=capture,
        source="file",
        distance=distance,
        scope=scope,
        allow_label_removal=allow_label_removal,
        full_name=full_name,
        text=text,
    )


def consent_approve_live(
    *,
    consent: Consent,
    capture: LiveCapture,
    full_name: str,
    purposes=None,
    languages=None,
    expires_at=None,
    consent_text_sha256: str | None = None,
    allow_label_removal: bool = False,
) -> Consent:
    """The person pictured approves with the live capture they just streamed: paced, answered in time, their face;
    active at once unless CANDOR_CONSENT_REVIEW finds it risky.
    """
    consent_link_check_open(consent)
    if capture.consent_id != consent.id or capture.purpose != LiveCapture.Purpose.CONSENT:
        raise ApplicationError(ErrorCode.NOT_FOUND, "this live check belongs to another link")
    text = _text_check(consent, full_name=full_name, consent_text_sha256=consent_text_sha256)
    scope = _scope_granted(consent, purposes=purposes, languages=languages, expires_at=expires_at)
    stream = live_capture_take(capture=capture)
    portrait = portrait_reference(consent.portrait)
    descriptors = _portrait_descriptors(consent, portrait)
    try:
        check = capture_check(
            capture=stream.data,
            challenge={"id": str(capture.id), "turns": stream.turns, "digits": stream.digits},
            english=consent.requested_languages == ["en"],
            live=stream,
            portrait=portrait,
            accept=face_match.AcceptLine(descriptors, face_match.CONSENT_ACCEPT_DISTANCE),
        )
        distance = _identity_check(check, descriptors, source="live")
    except ApplicationError as refusal:
        live_capture_end(capture=capture, refusal=refusal.code)
        if refusal.code in COUNTED_REFUSALS:
            _attempt_failed(consent, refusal, challenge_id=None)
        raise
    live_capture_end(capture=capture, refusal=None)
    return _approval_record(
        consent,
        check=check,
        capture=stream.data,
        source="live",
        distance=distance,
        scope=scope,
        allow_label_removal=allow_label_removal,
        full_name=full_name,
        text=text,
    )


def _text_check(consent: Consent, *, full_name: str, consent_text_sha256: str | None) -> ConsentText:
    if not full_name.strip():
        raise ApplicationError(ErrorCode.INVALID, "full_name is required")
    text = consent_text(consent)
    if consent_text_sha256 and consent_text_sha256 != text.sha256:
        raise ApplicationError(
            ErrorCode.CONSENT_TEXT_CHANGED,
            "the consent text changed since you read it; reload the page and read it again",
        )
    return text


def _portrait_descriptors(consent: Consent, portrait: PortraitReference) -> face_match.PortraitDescriptors:
    """The descriptors of the link's portrait and of its mirror image, which a capture is compared with."""
    descriptors = face_match.stored_descriptors(consent.portrait)
    if descriptors.mirrored is None:
        # Kept at upload; found again only for a portrait stored before it was kept (or whose mirror showed no face).
        descriptors = face_match.PortraitDescriptors(
            descriptors.descriptor, face_match.mirrored_descriptor(portrait.image, consent.portrait.face_box)
        )
    return descriptors


def _identity_check(check: CaptureCheck, descriptors: face_match.PortraitDescriptors, *, source: str) -> float:
    """The capture's distance to the portrait (and its mirror image); refused past face_match's refuse line, and in
    the review band when no person will review the approval (face_match.consent_identity).
    """
    distance = face_match.capture_distance(check.frame_descriptors, descriptors)
    outcome = face_match.consent_identity(distance)
    if outcome == "refuse":
        raise ApplicationError(ErrorCode.IDENTITY_MISMATCH, "the capture does not match the person in the portrait")
    if outcome == "review" and not identity_review_possible(capture_source=source):
        raise ApplicationError(
            ErrorCode.IDENTITY_MISMATCH,
            "the capture is too far from the person in the portrait to be sure it is them; try again facing the "
            "camera in good light, as you look in the portrait",
        )
    return distance


def _approval_record(
    consent: Consent,
    *,
    check: CaptureCheck,
    capture: bytes,
    source: str,
    distance: float,
    scope: Scope,
    allow_label_removal: bool,
    full_name: str,
    text: ConsentText,
) -> Consent:
    reasons = review_reasons(consent=consent, distance=distance, liveness=check.liveness, capture_source=source)
    with transaction.atomic():
        consent.purposes = scope.purposes
        consent.languages = scope.languages
        consent.expires_at = scope.expires_at
        consent.max_renders = scope.max_renders
        consent.allow_label_removal = allow_label_removal
        consent.match_distance = distance
        consent.liveness = check.liveness
        status_ = Consent.Status.AWAITING_REVIEW if reasons else Consent.Status.ACTIVE
        _decision_record(consent, status_, full_name=full_name, text=text)
        consent_event_append(
            consent=consent,
            kind="approved",
            details={
                **scope_json(scope),
                "allow_label_removal": allow_label_removal,
                "match_distance": round(distance, 4),
                "liveness": check.liveness,
                "capture_source": source,
                **_text_json(text),
            },
        )
        if reasons:
            consent_review_open(
                consent=consent,
                reasons=reasons,
                figures=_review_figures(consent, distance=distance, liveness=check.liveness, source=source),
                capture=capture,
                key_frames=check.key_frames,
            )
        receipt_email(consent)
    return consent


def _review_figures(consent: Consent, *, distance: float, liveness: dict, source: str) -> dict:
    """Every figure a reviewer weighs, each beside the limit it was checked against."""
    return {
        "match_distance": round(distance, 4),
        "identity_accept_distance": face_match.CONSENT_ACCEPT_DISTANCE,
        "identity_refuse_distance": face_match.CONSENT_REFUSE_DISTANCE,
        "lip_sync_minimum": SYNC_MIN_CORRELATION,
        "mouth_range_minimum": MOUTH_MIN_RANGE,
        "liveness": liveness,
        "capture_source": source,
        "portrait_failed_captures": portrait_failed_captures(portrait_id=consent.portrait_id),
        "link_failed_attempts": consent.failed_attempts,
    }


def _decision_record(consent: Consent, status_: str, *, full_name: str, text: ConsentText) -> None:
    # Checked again under the row's lock: a capture failing at the same time may have locked the link meanwhile.
    current = Consent.objects.select_for_update().get(id=consent.id)
    consent_link_check_open(current)
    consent.failed_attempts = current.failed_attempts
    consent.challenges_issued = current.challenges_issued
    consent.status = status_
    consent.full_name = full_name.strip()
    consent.decided_at = timezone.now()
    consent.consent_text_version = text.version
    consent.consent_text_sha256 = text.sha256
    # The same private link revokes an approval and erases the portrait, whichever the decision was.
    consent.revoke_token = secrets.token_urlsafe(32)
    consent.save()


def _text_json(text: ConsentText) -> dict:
    return {"consent_text_version": text.version, "consent_text_sha256": text.sha256}


def _attempt_failed(consent: Consent, refusal: ApplicationError, *, challenge_id: str | None) -> None:
    """Count a failed capture on the link (and so on its portrait and its creator), use up its challenge, and lock the
    link at its limit or its portrait's.

    Concurrent failures must all count and none may unlock a locked link: the portrait's links are locked for update
    (PostgreSQL), the count is incremented in the database (F(), atomic on SQLite too, where writes are serialized),
    and the status only ever moves from pending to locked.
    """
    with transaction.atomic():
        links = Consent.objects.select_for_update().filter(portrait_id=consent.portrait_id)
        list(links.values_list("id", flat=True))
        Consent.objects.filter(id=consent.id).update(failed_attempts=F("failed_attempts") + 1)
        if challenge_id is not None:
            Consent.objects.filter(id=consent.id, challenge__id=challenge_id).update(challenge={})
        failed_attempts = Consent.objects.values_list("failed_attempts", flat=True).get(id=consent.id)
        portrait_failures = portrait_failed_captures(portrait_id=consent.portrait_id)
        if (
            failed_attempts >= settings.CANDOR_CONSENT_MAX_ATTEMPTS
            or portrait_failures >= settings.CANDOR_PORTRAIT_MAX_FAILED_CAPTURES
        ):
            Consent.objects.filter(id=consent.id, status=Consent.Status.PENDING).update(status=Consent.Status.LOCKED)
        consent_event_append(consent=consent, kind="capture_refused", details={"reason": refusal.code})
    consent.refresh_from_db(fields=["failed_attempts", "status", "challenge"])
    if consent.status == Consent.Status.LOCKED:
        refusal.detail = f"{refusal.detail} (this link is now locked; ask the requester for a new one)"
        return
    remaining = min(
        settings.CANDOR_CONSENT_MAX_ATTEMPTS - consent.failed_attempts,
        settings.CANDOR_PORTRAIT_MAX_FAILED_CAPTURES - portrait_failures,
    )
    refusal.detail = f"{refusal.detail} ({remaining} attempts left)"


def _scope_granted(consent: Consent, *, purposes, languages, expires_at) -> Scope:
    """The scope the person grants: what they chose, or (a choice left out, None) everything asked; an empty choice
    is refused, never read as everything asked.
    """
    if purposes is not None and not purposes:
        raise ApplicationError(ErrorCode.INVALID_SCOPE, "choose at least one purpose, or decline")
    if languages is not None and not languages:
        raise ApplicationError(ErrorCode.INVALID_SCOPE, "choose at least one language, or decline")
    purposes = sorted(set(purposes)) if purposes else list(consent.requested_purposes)
    wider = set(purposes) - set(consent.requested_purposes)
    if wider:
        raise ApplicationError(ErrorCode.INVALID_SCOPE, f"purposes {sorted(wider)} were not requested")
    languages = languages_normalize(languages) if languages else list(consent.requested_languages)
    if consent.requested_languages != ["any"] and (
        languages == ["any"] or set(languages) - set(consent.requested_languages)
    ):
        raise ApplicationError(
            ErrorCode.INVALID_SCOPE, f"languages must be among those requested: {consent.requested_languages}"
        )
    expires_at = expires_at or consent.requested_expires_at
    if expires_at > consent.requested_expires_at or expires_at <= timezone.now():
        raise ApplicationError(ErrorCode.INVALID_SCOPE, "expires_at must be in the future and no later than requested")
    return Scope(
        purposes=purposes, languages=languages, expires_at=expires_at, max_renders=consent.requested_max_renders
    )
