"""After a decision: revocation, erasure, expiry, and the gate every render passes."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError, ErrorCode
from core.http import public_url

from .. import signals
from ..audit_log import consent_event_append
from ..models import Consent
from ..selectors import consent_active_get, consent_get_by_revoke_token, consent_latest_get, consent_previews_left
from .common import email_after_commit
from .review import consent_review_withdraw

# Each ending the person chooses -> the subject of the email to them and to the creator, and its template.
_ENDING_EMAILS = {
    "revoked": (
        "You revoked your Candor consent",
        "{person} revoked their consent to Candor videos of their face",
        "consent/email_revoked.txt",
    ),
    "erased": (
        "Your photo and face data were erased from Candor",
        "{person}'s photo was erased from Candor at their request",
        "consent/email_erased.txt",
    ),
}


def _ending_emails(consent: Consent, ending: str, *, person_email: str, subject_name: str) -> None:
    """Tell both parties, once committed: the person pictured (at the address their link came to) and the creator.

    The address and the name are read before an erasure blanks them.
    """
    to_person, to_creator, template = _ENDING_EMAILS[ending]
    context = {
        "consent": consent,
        "subject_name": subject_name,
        "revoke_link": public_url("consent-revoke", consent.revoke_token),
        "videos_link": public_url("consent-videos", consent.token),
    }
    if person_email:
        email_after_commit(
            subject=to_person, template=template, context={**context, "for_creator": False}, to=person_email
        )
    if consent.requested_by.email:
        email_after_commit(
            subject=to_creator.format(person=subject_name),
            template=template,
            context={**context, "for_creator": True},
            to=consent.requested_by.email,
        )


def consent_revoke(*, revoke_token: str) -> Consent:
    """Revoke by the link from the confirmation email; queued and running renders of this consent are cancelled, and an
    approval still waiting for review is withdrawn (its capture deleted). Both parties are emailed.
    """
    return _revoke(consent_get_by_revoke_token(revoke_token=revoke_token), notify=True)


def _revoke(consent: Consent, *, notify: bool) -> Consent:
    with transaction.atomic():
        if consent.status == Consent.Status.AWAITING_REVIEW:
            consent_review_withdraw(consent=consent)
        if consent.status in (Consent.Status.ACTIVE, Consent.Status.AWAITING_REVIEW):
            consent.status = Consent.Status.REVOKED
            consent.revoked_at = timezone.now()
            consent.save(update_fields=["status", "revoked_at"])
            cancelled = signals.renders_cancelled_count(signals.consent_revoked.send(sender=Consent, consent=consent))
            consent_event_append(consent=consent, kind="revoked", details={"renders_cancelled": cancelled})
            if notify:
                _ending_emails(
                    consent,
                    "revoked",
                    person_email=consent.recipient_email,
                    subject_name=consent.portrait.subject_name,
                )
    return consent


def consent_erase(*, revoke_token: str) -> Consent:
    """The person pictured has their portrait erased: consent revoked, photo, descriptor and rendered videos deleted.

    The rows stay, stripped to ids, dates and scope, so the verifier can still say a video's consent was erased. Both
    parties are emailed once (the erasure's email says that consent is revoked too).
    """
    consent = _revoke(consent_get_by_revoke_token(revoke_token=revoke_token), notify=False)
    portrait = consent.portrait
    if portrait.erased_at is not None:
        return consent
    person_email, subject_name = consent.recipient_email, portrait.subject_name
    with transaction.atomic():
        signals.consent_erased.send(sender=Consent, consent=consent, portrait=portrait)
        Consent.objects.filter(portrait=portrait).update(full_name="", routed_email="")
        consent_event_append(consent=consent, kind="erased", details={"portrait": str(portrait.id)})
        _ending_emails(consent, "erased", person_email=person_email, subject_name=subject_name)
    consent.refresh_from_db()
    return consent


def consents_expire_due(*, portrait=None) -> int:
    """Mark active consents past their end date expired, cancelling their queued and running renders; returns
    how many.
    """
    due = Consent.objects.filter(status=Consent.Status.ACTIVE, expires_at__lte=timezone.now())
    if portrait is not None:
        due = due.filter(portrait=portrait)
    count = 0
    for consent in due:
        with transaction.atomic():
            updated = Consent.objects.filter(id=consent.id, status=Consent.Status.ACTIVE).update(
                status=Consent.Status.EXPIRED
            )
            if updated:
                cancelled = signals.renders_cancelled_count(
                    signals.consent_expired.send(sender=Consent, consent=consent)
                )
                consent_event_append(consent=consent, kind="expired", details={"renders_cancelled": cancelled})
                count += 1
    return count


def consent_links_expire_due() -> int:
    """Expire the pending requests whose link ran out unanswered (logged), so the creator sees that; returns
    how many.
    """
    count = 0
    for consent in Consent.objects.filter(status=Consent.Status.PENDING, link_expires_at__lte=timezone.now()):
        with transaction.atomic():
            if Consent.objects.filter(id=consent.id, status=Consent.Status.PENDING).update(
                status=Consent.Status.EXPIRED
            ):
                consent_event_append(
                    consent=consent,
                    kind="link_expired",
                    details={"link_expires_at": consent.link_expires_at.isoformat()},
                )
                count += 1
    return count


def consent_gate(*, portrait, purpose: str, language: str, label: bool = True) -> Consent:
    """The active consent that covers this render, or a 403 saying what is missing (the refusal is logged).

    A render without the visible label (`label` false) is refused with label_required unless the person pictured
    allowed that when they approved.
    """
    consents_expire_due(portrait=portrait)
    consent = consent_active_get(portrait=portrait)
    code, reason = ErrorCode.CONSENT_REQUIRED, None
    if consent is None:
        reason = "the person pictured has not given active consent for this portrait"
    elif purpose not in consent.purposes:
        reason = f"the consent does not cover the purpose '{purpose}' (covers {consent.purposes})"
    elif consent.languages != ["any"] and language not in consent.languages:
        reason = f"the consent does not cover the language '{language}' (covers {consent.languages})"
    elif consent.max_renders is not None:
        used = consent.renders.exclude(status__in=["failed", "cancelled"]).count()
        if used >= consent.max_renders:
            reason = f"the consent allows {consent.max_renders} videos and all are used"
    if reason is None and consent is not None and not label and not consent.allow_label_removal:
        code = ErrorCode.LABEL_REQUIRED
        reason = 'the person pictured did not allow videos without the visible "AI-generated" label'
    if reason is not None:
        consent_event_append(
            consent=consent or consent_latest_get(portrait=portrait),
            kind="render_refused",
            details={"portrait": str(portrait.id), "purpose": purpose, "language": language, "reason": reason},
        )
        raise ApplicationError(code, reason)
    assert consent is not None  # a missing consent is a refusal above
    return consent


def consent_preview_take(*, consent: Consent, portrait, purpose: str, language: str, seconds: float) -> None:
    """Count a preview against the consent's quota and log it (render_previewed), or refuse with a 403 once all are
    used (logged).

    Taken before the preview is made, under a lock on the consent row, so that previews asked for at once cannot
    pass the quota together.
    """
    details = {"portrait": str(portrait.id), "purpose": purpose, "language": language}
    with transaction.atomic():
        Consent.objects.select_for_update().filter(id=consent.id).first()
        allowed = consent_previews_left(consent) > 0
        if allowed:
            consent_event_append(consent=consent, kind="render_previewed", details={**details, "seconds": seconds})
    if not allowed:
        reason = (
            f"the consent allows {settings.CANDOR_MAX_PREVIEWS_PER_CONSENT} one-second previews and all are used; "
            "make the video itself"
        )
        consent_event_append(consent=consent, kind="render_refused", details={**details, "reason": reason})
        raise ApplicationError(ErrorCode.CONSENT_REQUIRED, reason)


def consent_preview_give_back(*, consent: Consent, portrait, reason: str) -> None:
    """Return a preview the engine could not make to the quota (logged as render_preview_failed)."""
    consent_event_append(
        consent=consent, kind="render_preview_failed", details={"portrait": str(portrait.id), "reason": reason}
    )
