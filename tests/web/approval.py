"""An approved consent written straight to the database, for page tests that are not about the approval itself.

The approval flow (live capture, identity match) has its own tests in tests/consent/; here it would only add time.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.utils import timezone

from consent.models import PURPOSES, Consent
from studio.models import Portrait


def consent_approved(*, portrait_id, languages=("any",)) -> Consent:
    """The portrait's pending request (or a new one) approved for every purpose, the given languages, one year."""
    portrait = Portrait.objects.get(id=portrait_id)
    now = timezone.now()
    consent = Consent.objects.filter(portrait=portrait, status=Consent.Status.PENDING).first() or Consent(
        portrait=portrait,
        requested_by=portrait.owner,
        requested_purposes=PURPOSES,
        requested_languages=list(languages),
        requested_expires_at=now + timedelta(days=365),
        token=secrets.token_urlsafe(32),
        link_expires_at=now + timedelta(days=7),
    )
    consent.status = Consent.Status.ACTIVE
    consent.purposes, consent.languages = list(PURPOSES), list(languages)
    consent.expires_at, consent.decided_at = now + timedelta(days=365), now
    consent.full_name = portrait.subject_name
    consent.save()
    return consent
