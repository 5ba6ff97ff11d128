"""The signed receipt of a consent decision, and the email that carries it to the person pictured."""

from __future__ import annotations

import json

from django.core.mail import EmailMessage
from django.db import transaction

from core.errors import ApplicationError, ErrorCode
from core.http import public_url

from .. import face_match, signing
from ..models import Consent, ConsentReview
from .common import email_text
from .requests import consent_text

RECEIPT_TYPE = "candor.consent-receipt.v1"

# The receipt's decision word -> the email that carries the receipt (its subject and template).
_RECEIPT_EMAILS = {
    "approved": ("You approved a Candor consent: keep this email to revoke it", "consent/email_approved.txt"),
    "declined": ("You declined a Candor consent request", "consent/email_declined.txt"),
    "awaiting_review": ("Your Candor consent is waiting for a staff review", "consent/email_awaiting_review.txt"),
    "refused_in_review": ("Candor's staff did not accept your consent capture", "consent/email_review_refused.txt"),
    "expired": ("Your Candor consent was not reviewed in time", "consent/email_review_refused.txt"),
    "withdrawn": ("You declined a Candor consent request", "consent/email_declined.txt"),
}


def _decision_word(consent: Consent, review: ConsentReview | None) -> str:
    """What was decided, as the receipt states it: the person's decision and, where staff reviewed it, theirs."""
    if review is not None:
        return {
            ConsentReview.Decision.PENDING: "awaiting_review",
            ConsentReview.Decision.APPROVED: "approved",
            ConsentReview.Decision.REFUSED: "refused_in_review",
            ConsentReview.Decision.EXPIRED: "expired",
            ConsentReview.Decision.WITHDRAWN: "withdrawn",
        }[ConsentReview.Decision(review.decision)]
    return "declined" if consent.status == Consent.Status.DECLINED else "approved"


def receipt_email(consent: Consent) -> None:
    """Email the person pictured their decision, the signed receipt attached (sent once the transaction commits)."""
    context = {
        "consent": consent,
        "revoke_link": public_url("consent-revoke", consent.revoke_token),
        "receipt_link": public_url("api-consent-receipt", consent.token),
        "receipt_page_link": public_url("consent-receipt", consent.token),
        "videos_link": public_url("consent-videos", consent.token),
        "registry_link": public_url("registry"),
        "events_link": public_url("api-consent-events", consent.token),
        "public_key_link": public_url("api-consent-public-key"),
    }
    review = ConsentReview.objects.filter(consent_id=consent.id).first()
    context["review"] = review
    subject, template = _RECEIPT_EMAILS[_decision_word(consent, review)]
    message = EmailMessage(subject=subject, body=email_text(template, context), to=[consent.recipient_email])

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
    review = ConsentReview.objects.filter(consent_id=consent.id).select_related("reviewer").first()
    receipt = {
        "type": RECEIPT_TYPE,
        "consent_id": str(consent.id),
        "portrait_id": str(consent.portrait_id),
        "requester": consent.requested_by.username,
        "requester_name": consent.requester_display,
        "person": consent.full_name,
        "decision": _decision_word(consent, review),
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
            "allow_label_removal": consent.allow_label_removal,
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
            "accept_distance": face_match.CONSENT_ACCEPT_DISTANCE,
            "refuse_distance": face_match.CONSENT_REFUSE_DISTANCE,
        },
        "liveness": consent.liveness or None,
        # Who decided after the person, and when: the role only, never the reviewer's name or note.
        "review": None
        if review is None
        else {
            "reasons": review.reasons,
            "decision": review.decision,
            "reviewer_role": "staff"
            if review.decision in (ConsentReview.Decision.APPROVED, ConsentReview.Decision.REFUSED)
            else None,
            "decided_at": review.decided_at.isoformat() if review.decided_at else None,
        },
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
