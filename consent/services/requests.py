"""Consent requests: ask the person pictured, the text they read, the challenge their page shows."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from core.errors import ApplicationError, ErrorCode
from core.http import public_url

from ..audit_log import consent_event_append
from ..models import Consent
from . import registry
from .common import challenge_new, email_after_commit, scope_json, scope_requested

# The consent text the person reads; a new wording gets a new version (template consent/consent_text_v<N>.txt).
CONSENT_TEXT_VERSION = "1"


@transaction.atomic
def consent_request_create(
    *, portrait, requested_by, purposes=None, languages=None, expires_at=None, max_renders=None
) -> Consent:
    """Ask the person pictured for consent: a new pending record and an email with their own link."""
    if portrait.erased_at is not None:
        raise ApplicationError(
            ErrorCode.PORTRAIT_ERASED, "this portrait was erased at the request of the person pictured"
        )
    # A face registered after its portrait was uploaded is caught here, before anyone is asked.
    nearest, distance = registry.registry_nearest(portrait.descriptor)
    if nearest is not None and distance <= registry.REGISTRY_REFUSE_DISTANCE:
        raise ApplicationError(
            ErrorCode.FACE_OPTED_OUT, "the person in this photo asked that their face never be animated"
        )
    scope = scope_requested(purposes=purposes, languages=languages, expires_at=expires_at, max_renders=max_renders)
    _consent_request_rate_check(requested_by=requested_by, subject_email=portrait.subject_email)
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
        challenge=challenge_new(),
    )
    consent_event_append(consent=consent, kind="requested", details=scope_json(scope))
    link = public_url("consent", consent.token)
    context = {"consent": consent, "portrait": portrait, "requester": requested_by, "link": link}
    email_after_commit(
        subject=f"{requested_by.username} asks to animate your photo with Candor",
        template="consent/email_request.txt",
        context=context,
        to=portrait.subject_email,
    )
    return consent


def _consent_request_rate_check(*, requested_by, subject_email: str) -> None:
    """Refuse with 429 when this creator, or anyone, has asked too often lately: mail from Candor is no relay.

    Counted from the requests on record, so every web process sees the same count and nothing resets on restart.
    """
    now = timezone.now()
    limits = (
        (
            Consent.objects.filter(requested_by=requested_by),
            settings.CANDOR_CONSENT_REQUESTS_PER_CREATOR_HOUR,
            timedelta(hours=1),
            "you sent {count} consent requests in the last hour",
        ),
        (
            Consent.objects.filter(portrait__subject_email__iexact=subject_email),
            settings.CANDOR_CONSENT_REQUESTS_PER_ADDRESS_DAY,
            timedelta(days=1),
            "this address was sent {count} consent requests in the last day",
        ),
    )
    for requests, allowed, window, reason in limits:
        recent = requests.filter(created_at__gt=now - window).order_by("created_at")
        count = recent.count()
        if count >= allowed:
            # The window frees a place when the oldest request counted leaves it.
            oldest = recent.values_list("created_at", flat=True)[count - allowed]
            wait_s = max(1, math.ceil((oldest + window - now).total_seconds()))
            raise ApplicationError(
                ErrorCode.THROTTLED,
                f"{reason.format(count=count)}; try again in {math.ceil(wait_s / 60)} minutes",
                retry_after_s=wait_s,
            )


@dataclass(frozen=True)
class ConsentText:
    version: str
    text: str
    sha256: str


def consent_text(consent: Consent) -> ConsentText:
    """The exact consent text shown for this request (the same bytes on the page, in the API and in the receipt)."""
    text = render_to_string(
        f"consent/consent_text_v{CONSENT_TEXT_VERSION}.txt",
        {"consent": consent, "portrait": consent.portrait, "requester": consent.requested_by},
    ).strip()
    return ConsentText(version=CONSENT_TEXT_VERSION, text=text, sha256=hashlib.sha256(text.encode()).hexdigest())


def consent_challenge_issue(*, consent: Consent) -> dict:
    """A fresh random challenge for this viewing; viewing never decides anything."""
    if consent.status == Consent.Status.PENDING:
        consent.challenge = challenge_new()
        consent.save(update_fields=["challenge"])
        consent_event_append(consent=consent, kind="viewed")
    return consent.challenge
