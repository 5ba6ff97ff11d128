"""The person pictured decides: approve (live, identity-matched, scope no wider than asked) or decline; the signed
receipt.
"""

from __future__ import annotations

import json
import secrets

import numpy as np
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.errors import ApplicationError, ErrorCode
from core.http import public_url
from core.languages import languages_normalize
from inference import faces

from .. import signing
from ..audit_log import consent_event_append
from ..models import Consent
from ..selectors import portrait_failed_captures
from .capture import COUNTED_REFUSALS, capture_check
from .common import Scope, email_text, scope_json
from .requests import ConsentText, challenge_open, consent_text

RECEIPT_TYPE = "candor.consent-receipt.v1"


def _link_check_open(consent: Consent) -> None:
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
) -> Consent:
    """The person pictured approves (live, identity-matched, scope no wider than asked) or declines; a signed receipt
    follows.
    """
    _link_check_open(consent)
    if not challenge_id or challenge_id != consent.challenge.get("id"):
        raise ApplicationError(ErrorCode.CHALLENGE_MISMATCH, "the challenge has changed; reload the page and try again")
    if not challenge_open(consent.challenge):
        raise ApplicationError(
            ErrorCode.CHALLENGE_MISMATCH, "the challenge has expired; reload the page and answer the new one"
        )
    if not full_name.strip():
        raise ApplicationError(ErrorCode.INVALID, "full_name is required")
    text = consent_text(consent)
    if consent_text_sha256 and consent_text_sha256 != text.sha256:
        raise ApplicationError(
            ErrorCode.CONSENT_TEXT_CHANGED,
            "the consent text changed since you read it; reload the page and read it again",
        )
    if decision == "decline":
        with transaction.atomic():
            _decision_record(consent, Consent.Status.DECLINED, full_name=full_name, text=text)
            consent_event_append(consent=consent, kind="declined", details=_text_json(text))
            _receipt_email(consent)
        return consent
    if decision != "approve":
        raise ApplicationError(ErrorCode.INVALID, "decision must be 'approve' or 'decline'")
    if not capture:
        raise ApplicationError(
            ErrorCode.LIVENESS_REQUIRED, "approving needs a short live video of you answering the challenge"
        )
    scope = _scope_granted(consent, purposes=purposes, languages=languages, expires_at=expires_at)
    try:
        # Digits are recognized where the person reads them in English: a request for English only.
        check = capture_check(
            capture=capture, challenge=consent.challenge, english=consent.requested_languages == ["en"]
        )
        distance = faces.descriptor_distance(check.descriptor, np.asarray(consent.portrait.descriptor))
        if distance > faces.IDENTITY_THRESHOLD:
            raise ApplicationError(ErrorCode.IDENTITY_MISMATCH, "the capture does not match the person in the portrait")
    except ApplicationError as refusal:
        if refusal.code in COUNTED_REFUSALS:
            _attempt_failed(consent, refusal, challenge_id=challenge_id)
        raise
    with transaction.atomic():
        consent.purposes = scope.purposes
        consent.languages = scope.languages
        consent.expires_at = scope.expires_at
        consent.max_renders = scope.max_renders
        consent.match_distance = distance
        consent.liveness = check.liveness
        _decision_record(consent, Consent.Status.ACTIVE, full_name=full_name, text=text)
        consent_event_append(
            consent=consent,
            kind="approved",
            details={
                **scope_json(scope),
                "match_distance": round(distance, 4),
                "liveness": check.liveness,
                **_text_json(text),
            },
        )
        _receipt_email(consent)
    return consent


def _decision_record(consent: Consent, status_: str, *, full_name: str, text: ConsentText) -> None:
    # Checked again under the row's lock: a capture failing at the same time may have locked the link meanwhile.
    current = Consent.objects.select_for_update().get(id=consent.id)
    _link_check_open(current)
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


def _receipt_email(consent: Consent) -> None:
    context = {
        "consent": consent,
        "revoke_link": public_url("consent-revoke", consent.revoke_token),
        "receipt_link": public_url("api-consent-receipt", consent.token),
        "events_link": public_url("api-consent-events", consent.token),
        "public_key_link": public_url("api-consent-public-key"),
    }
    approved = consent.status == Consent.Status.ACTIVE
    message = EmailMessage(
        subject="You approved a Candor consent: keep this email to revoke it"
        if approved
        else "You declined a Candor consent request",
        body=email_text("consent/email_approved.txt" if approved else "consent/email_declined.txt", context),
        to=[consent.recipient_email],
    )

    def send() -> None:
        # Signed once committed, so the receipt attached is the decision as stored.
        receipt = json.dumps(
            consent_receipt(consent=Consent.objects.select_related("portrait", "requested_by").get(id=consent.id)),
            indent=2,
        )
        message.attach("candor-consent-receipt.json", receipt, "application/json")
        message.send()

    transaction.on_commit(send)


def consent_receipt(*, consent: Consent) -> dict:
    """The signed receipt of a decision: what was asked, what was decided, the text shown, and how it was checked.

    `signature` is Ed25519 over the canonical JSON of `receipt` (sorted keys, no spaces, UTF-8), verifiable with
    the key published at /api/consent/public-key/.
    """
    if consent.decided_at is None:
        raise ApplicationError(ErrorCode.NOT_DECIDED, "there is no decision on this request yet")
    text = consent_text(consent)
    receipt = {
        "type": RECEIPT_TYPE,
        "consent_id": str(consent.id),
        "portrait_id": str(consent.portrait_id),
        "requester": consent.requested_by.username,
        "person": consent.full_name,
        "decision": "declined" if consent.status == Consent.Status.DECLINED else "approved",
        "decided_at": consent.decided_at.isoformat(),
        "requested_scope": {
            "purposes": consent.requested_purposes,
            "languages": consent.requested_languages,
            "expires_at": consent.requested_expires_at.isoformat(),
            "max_renders": consent.requested_max_renders,
        },
        "granted_scope": None
        if consent.expires_at is None
        else {
            "purposes": consent.purposes,
            "languages": consent.languages,
            "expires_at": consent.expires_at.isoformat(),
            "max_renders": consent.max_renders,
        },
        "consent_text": {
            "version": consent.consent_text_version,
            "sha256": consent.consent_text_sha256,
            # The wording is included only while it still renders to the hashed text (a changed template would not).
            "text": text.text if text.sha256 == consent.consent_text_sha256 else None,
        },
        "identity": None
        if consent.match_distance is None
        else {
            "match_distance": consent.match_distance,
            "threshold": faces.IDENTITY_THRESHOLD,
        },
        "liveness": consent.liveness or None,
        "revoke_url": public_url("consent-revoke", consent.revoke_token),
    }
    return {
        "receipt": receipt,
        "algorithm": signing.ALGORITHM,
        "key_id": signing.key_id(),
        "signature": signing.sign(receipt_bytes(receipt)),
    }


def receipt_bytes(receipt: dict) -> bytes:
    return json.dumps(receipt, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _attempt_failed(consent: Consent, refusal: ApplicationError, *, challenge_id: str) -> None:
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
