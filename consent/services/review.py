"""Human review of risky consent approvals: which approvals wait for staff, the capture kept encrypted meanwhile, the
staff decision, and the purge of captures nobody decided on.
"""

from __future__ import annotations

import base64
from datetime import timedelta

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError, ErrorCode
from core.http import public_url
from provenance.keys import secret_load_or_create

from .. import face_match
from .. import liveness as liveness_rules
from ..audit_log import consent_event_append
from ..flash import FACE_MIN_CORRELATION
from ..models import Consent, ConsentEvent, ConsentReview
from ..portrait_copy import COPY_REVIEW_MARGIN as PORTRAIT_COPY_REVIEW_MARGIN
from ..portrait_copy import COPY_THRESHOLD
from ..selectors import CREATOR_FAILURE_WINDOW, portrait_failed_captures
from .common import email_after_commit
from .receipts import receipt_email

# How close to a threshold a figure must come for the approval to wait for staff. Identity has its review band in
# consent/face_match.py (CONSENT_ACCEPT_DISTANCE to CONSENT_REFUSE_DISTANCE), measured on the calibration set.
# Lip sync and mouth movement: a quarter of the correlation scale above its minimum (0.4), and half the mouth range's
# minimum (0.04) above it, where speaking clearly opens the mouth by 0.1-0.3.
LIP_SYNC_REVIEW_MARGIN = 0.1
MOUTH_RANGE_REVIEW_MARGIN = 0.02
# The flash's face correlation within this of its minimum: the captures a real-time rig that nearly fooled the check
# would give. The portrait-copy score's margin is set with its threshold, from the same measurement (portrait_copy.py).
FLASH_REVIEW_MARGIN = 0.1
# The longest an encrypted capture is kept waiting for a decision; then it is deleted and the consent expires.
CONSENT_REVIEW_DAYS = 30
# The Fernet key's file in the keys directory (<name>.key, mode 0600).
CAPTURE_KEY_NAME = "consent-review"
CONSENT_REVIEW_DECISIONS = ("approve", "refuse")


def review_reasons(*, consent: Consent, distance: float, liveness: dict, capture_source: str) -> list[str]:
    """Why an approval that passed every check should still wait for staff ([] when it need not), under
    CANDOR_CONSENT_REVIEW.

    `capture_source`: `live` for the paced live capture, `file` for a recorded video; a file proves nothing about
    when it was made, so it always waits for staff, whatever the mode.
    """
    mode = settings.CANDOR_CONSENT_REVIEW
    reasons = ["identity_near_threshold"] if face_match.consent_identity(distance) == "review" else []
    if mode == "off":
        # A live capture in the identity band was refused before (identity_review_possible): none is left here.
        return [] if capture_source == "live" else [*reasons, "file_upload"]
    if liveness.get("lip_sync", 1.0) < liveness_rules.SYNC_MIN_CORRELATION + LIP_SYNC_REVIEW_MARGIN:
        reasons.append("lip_sync_near_threshold")
    if liveness.get("mouth_range", 1.0) < liveness_rules.MOUTH_MIN_RANGE + MOUTH_RANGE_REVIEW_MARGIN:
        reasons.append("mouth_range_near_threshold")
    if liveness.get("flash", {}).get("face_correlation", 1.0) < FACE_MIN_CORRELATION + FLASH_REVIEW_MARGIN:
        reasons.append("flash_near_threshold")
    if liveness.get("portrait_copy", {}).get("score", 0.0) > COPY_THRESHOLD - PORTRAIT_COPY_REVIEW_MARGIN:
        reasons.append("portrait_copy_near_threshold")
    if _creator_recent_failures(creator_id=consent.requested_by_id):
        reasons.append("creator_recent_failures")
    if portrait_failed_captures(portrait_id=consent.portrait_id) >= settings.CANDOR_PORTRAIT_MAX_FAILED_CAPTURES:
        reasons.append("portrait_failures")
    if capture_source != "live":
        reasons.append("file_upload")
    if mode == "all" and not reasons:
        reasons.append("review_all")
    return reasons


def identity_review_possible(*, capture_source: str) -> bool:
    """Whether a capture in the identity review band can wait for staff: not a live one with review off, which nobody
    would look at before it took effect.
    """
    return settings.CANDOR_CONSENT_REVIEW != "off" or capture_source != "live"


def _creator_recent_failures(*, creator_id) -> int:
    since = timezone.now() - CREATOR_FAILURE_WINDOW
    return ConsentEvent.objects.filter(
        kind="capture_refused", consent__requested_by_id=creator_id, created_at__gt=since
    ).count()


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(secret_load_or_create(settings.KEYS_DIR, CAPTURE_KEY_NAME)))


def capture_encrypt(data: bytes) -> bytes:
    return _fernet().encrypt(data)


def capture_decrypt(token: bytes) -> bytes:
    return _fernet().decrypt(token)


def review_key_frames(review: ConsentReview) -> list[bytes]:
    """The review's key frames as JPEG bytes, decrypted for the reviewer."""
    fernet = _fernet()
    return [fernet.decrypt(frame.encode()) for frame in review.key_frames]


def consent_review_open(
    *, consent: Consent, reasons: list[str], figures: dict, capture: bytes, key_frames: tuple[bytes, ...]
) -> ConsentReview:
    """Hold an approval for staff: the capture and its key frames stored encrypted, staff told (call inside the
    approval's transaction).
    """
    fernet = _fernet()
    review = ConsentReview(
        consent=consent,
        reasons=reasons,
        figures=figures,
        key_frames=[fernet.encrypt(frame).decode() for frame in key_frames],
    )
    review.capture.save(f"{review.id}.fernet", ContentFile(fernet.encrypt(capture)), save=False)
    review.save()
    consent_event_append(
        consent=consent, kind="review_requested", details={"review": str(review.id), "reasons": reasons}
    )
    for address in _reviewer_addresses():
        email_after_commit(
            subject="A consent approval is waiting for review",
            template="consent/email_review_waiting.txt",
            context={"review": review, "days": CONSENT_REVIEW_DAYS},
            to=address,
        )
    return review


def _reviewer_addresses() -> list[str]:
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.filter(is_active=True, is_staff=True).exclude(email="")
    return [user.email for user in staff if user.has_perm("consent.change_consentreview")]


def consent_review_decide(*, review: ConsentReview, reviewer, decision: str, note: str = "") -> ConsentReview:
    """A reviewer's outcome: `approve` makes the consent active with the scope the person chose, `refuse` declines it.

    Either way the capture and key frames are deleted, the outcome is logged (review_approved / review_refused, with
    the note) and the person (with their receipt) and the creator are emailed (without the note).
    """
    if not (reviewer.is_active and reviewer.is_staff and reviewer.has_perm("consent.change_consentreview")):
        raise ApplicationError(
            ErrorCode.PERMISSION_DENIED, "only staff allowed to change consent reviews can decide them"
        )
    if decision not in CONSENT_REVIEW_DECISIONS:
        raise ApplicationError(ErrorCode.INVALID, f"decision must be one of {list(CONSENT_REVIEW_DECISIONS)}")
    with transaction.atomic():
        review = ConsentReview.objects.select_for_update().get(id=review.id)
        consent = (
            Consent.objects.select_for_update().select_related("portrait", "requested_by").get(id=review.consent_id)
        )
        if review.decision != ConsentReview.Decision.PENDING or consent.status != Consent.Status.AWAITING_REVIEW:
            raise ApplicationError(
                ErrorCode.ALREADY_REVIEWED, f"this approval was already reviewed ({review.decision})"
            )
        approved = decision == "approve"
        consent.status = Consent.Status.ACTIVE if approved else Consent.Status.DECLINED
        consent.save(update_fields=["status"])
        review.decision = ConsentReview.Decision.APPROVED if approved else ConsentReview.Decision.REFUSED
        review.decided_at, review.reviewer, review.note = timezone.now(), reviewer, note.strip()
        _review_close(review)
        consent_event_append(
            consent=consent,
            kind=f"review_{review.decision}",
            details={"review": str(review.id), "reviewer": reviewer.username, "note": review.note},
        )
        receipt_email(consent)
        if consent.requested_by.email:
            email_after_commit(
                subject=f"The consent for {consent.portrait.subject_name} was {review.decision} after review",
                template="consent/email_review_creator.txt",
                context={"consent": consent, "review": review, "link": public_url("portrait", consent.portrait_id)},
                to=consent.requested_by.email,
            )
    return review


def consent_review_withdraw(*, consent: Consent) -> None:
    """The person revoked or erased while their approval waited: the review closes undecided and the capture is
    deleted (call inside the revocation's transaction).
    """
    review = ConsentReview.objects.select_for_update().filter(consent=consent).first()
    if review is None or review.decision != ConsentReview.Decision.PENDING:
        return
    review.decision, review.decided_at = ConsentReview.Decision.WITHDRAWN, timezone.now()
    _review_close(review)
    consent_event_append(consent=consent, kind="review_withdrawn", details={"review": str(review.id)})


def _review_close(review: ConsentReview) -> None:
    """Delete the capture (once committed) and the key frames: staff saw them, and nothing else needs them."""
    stored = review.capture.name
    review.capture, review.key_frames = "", []
    review.save()
    if stored:
        storage = review.capture.storage
        transaction.on_commit(lambda: storage.delete(stored))


def consent_reviews_expire_due() -> int:
    """Reviews left undecided for CONSENT_REVIEW_DAYS: capture deleted, consent expired (logged, the person told);
    returns how many.
    """
    due = ConsentReview.objects.filter(
        decision=ConsentReview.Decision.PENDING, created_at__lte=timezone.now() - timedelta(days=CONSENT_REVIEW_DAYS)
    )
    count = 0
    for waiting in due:
        with transaction.atomic():
            review = ConsentReview.objects.select_for_update().get(id=waiting.id)
            if review.decision != ConsentReview.Decision.PENDING:
                continue
            review.decision, review.decided_at = ConsentReview.Decision.EXPIRED, timezone.now()
            _review_close(review)
            consent = Consent.objects.select_related("portrait").get(id=review.consent_id)
            if consent.status == Consent.Status.AWAITING_REVIEW:
                consent.status = Consent.Status.EXPIRED
                consent.save(update_fields=["status"])
            consent_event_append(consent=consent, kind="review_expired", details={"review": str(review.id)})
            receipt_email(consent)
            count += 1
    return count
