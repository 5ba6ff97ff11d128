"""Consent requests: ask the person pictured, the text they read, the challenge their page shows."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from core.errors import ApplicationError, ErrorCode
from core.http import public_url

from .. import face_match
from ..audit_log import consent_event_append
from ..models import Consent
from ..selectors import creator_requests_paused_until, portrait_failed_captures
from . import registry
from .common import challenge_new, email_after_commit, scope_json, scope_requested

# The consent text the person reads; a new wording gets a new version (template consent/consent_text_v<N>.txt).
CONSENT_TEXT_VERSION = "2"
REQUESTER_MESSAGE_MAX_CHARS = 1000


def _one_line(value: str, *, what: str, limit: int) -> str:
    value = value.strip()
    if "\n" in value or "\r" in value or len(value) > limit:
        raise ApplicationError(ErrorCode.INVALID, f"{what} must be one line of at most {limit} characters")
    return value


@transaction.atomic
def consent_request_create(
    *,
    portrait,
    requested_by,
    purposes=None,
    languages=None,
    expires_at=None,
    max_renders=None,
    requester_name: str = "",
    organisation: str = "",
    message: str = "",
) -> Consent:
    """Ask the person pictured for consent: a new pending record and an email with their own link.

    `requester_name` (empty: the creator's first and last name, else their username), `organisation` and `message`
    are what the person reads first about who asks and why.
    """
    requester_name = _one_line(requester_name or requested_by.get_full_name(), what="your name", limit=200)
    organisation = _one_line(organisation, what="the organisation", limit=200)
    message = message.strip()
    if len(message) > REQUESTER_MESSAGE_MAX_CHARS:
        raise ApplicationError(ErrorCode.INVALID, f"the message is limited to {REQUESTER_MESSAGE_MAX_CHARS} characters")
    if portrait.erased_at is not None:
        raise ApplicationError(
            ErrorCode.PORTRAIT_ERASED, "this portrait was erased at the request of the person pictured"
        )
    # A face registered after its portrait was uploaded is caught here, before anyone is asked.
    face = face_match.stored_descriptors(portrait)
    nearest, distance = registry.registry_nearest(face)
    if nearest is not None and face_match.registry_decision(distance) == "refuse":
        raise ApplicationError(
            ErrorCode.FACE_OPTED_OUT, "the person in this photo asked that their face never be animated"
        )
    # With human review on, such a portrait's approvals wait for staff instead (consent/services/review.py).
    if (
        settings.CANDOR_CONSENT_REVIEW == "off"
        and portrait_failed_captures(portrait_id=portrait.id) >= settings.CANDOR_PORTRAIT_MAX_FAILED_CAPTURES
    ):
        raise ApplicationError(
            ErrorCode.PORTRAIT_NEEDS_REVIEW,
            "too many live captures failed on this portrait's consent links; it takes no new request until Candor's "
            "staff have reviewed it",
        )
    paused_until = creator_requests_paused_until(creator=requested_by)
    if paused_until is not None:
        wait_s = max(1, int((paused_until - timezone.now()).total_seconds()))
        raise ApplicationError(
            ErrorCode.CONSENT_REQUESTS_PAUSED,
            f"too many live captures failed on your consent links in 24 hours; you can send new requests after "
            f"{paused_until:%Y-%m-%d %H:%M} UTC",
            retry_after_s=wait_s,
        )
    scope = scope_requested(purposes=purposes, languages=languages, expires_at=expires_at, max_renders=max_renders)
    # A face registered as send-to-me gets its link at the registered address only: the creator-typed one stays on
    # the portrait but is never emailed, so a creator cannot type their own inbox and approve for a stranger.
    route, route_distance = registry.registry_route_find(face)
    recipient = route.email if route is not None else portrait.subject_email
    _consent_request_rate_check(requested_by=requested_by, recipient_email=recipient)
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
        requester_name=requester_name,
        requester_organisation=organisation,
        requester_message=message,
        token=secrets.token_urlsafe(32),
        link_expires_at=timezone.now() + timedelta(days=settings.CANDOR_CONSENT_LINK_DAYS),
        routed=route is not None,
        routed_to=route,
        routed_email=route.email if route is not None else "",
    )
    consent_event_append(consent=consent, kind="requested", details=scope_json(scope))
    if route is not None:
        # The creator sees this consent's events: the entry and the distance, never the address.
        consent_event_append(
            consent=consent,
            registration=route,
            kind="consent_request_routed",
            details={"match_distance": round(route_distance, 4)},
        )
    link = public_url("consent", consent.token)
    context = {"consent": consent, "portrait": portrait, "requester": requested_by, "link": link}
    email_after_commit(
        subject=f"{requested_by.username} asks to animate your photo with Candor",
        template="consent/email_request.txt",
        context=context,
        to=consent.recipient_email,
    )
    return consent


def _consent_request_rate_check(*, requested_by, recipient_email: str) -> None:
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
            # Counted per address actually emailed: a routed request counts for the registered address only.
            Consent.objects.filter(
                Q(routed=True, routed_email__iexact=recipient_email)
                | Q(routed=False, portrait__subject_email__iexact=recipient_email)
            ),
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


def consent_link_opened(*, consent: Consent, viewer) -> None:
    """Note the first time the request's page is loaded, for the creator's tracking; the creator opening their own
    link (to test it, or to show its QR code) does not count."""
    if viewer is not None and viewer.is_authenticated and viewer.pk == consent.requested_by_id:
        return
    # One update that only a first opening can win, so two pages loaded at once keep the earlier time.
    Consent.objects.filter(id=consent.id, link_opened_at__isnull=True).update(link_opened_at=timezone.now())


def consent_text(consent: Consent) -> ConsentText:
    """The exact consent text shown for this request (the same bytes on the page, in the API and in the receipt): the
    version the person decided on, or the current one while undecided.
    """
    version = consent.consent_text_version or CONSENT_TEXT_VERSION
    text = render_to_string(
        f"consent/consent_text_v{version}.txt",
        {"consent": consent, "portrait": consent.portrait, "requester": consent.requested_by},
    ).strip()
    return ConsentText(version=version, text=text, sha256=hashlib.sha256(text.encode()).hexdigest())


def consent_challenge_issue(*, consent: Consent) -> dict:
    """The link's open challenge: the same one however often the page is loaded, so reloading cannot fish for an easy
    one.

    A new challenge is issued only once the last one was failed by a capture or expired (CANDOR_CONSENT_CHALLENGE_S
    after it was issued), at most CANDOR_CONSENT_CHALLENGES_PER_LINK per link; when they are used up the link locks.
    Viewing never decides anything else.
    """
    if consent.status != Consent.Status.PENDING:
        return consent.challenge
    with transaction.atomic():
        current = Consent.objects.select_for_update().get(id=consent.id)
        if current.status == Consent.Status.PENDING and not challenge_open(current.challenge):
            if current.challenges_issued >= settings.CANDOR_CONSENT_CHALLENGES_PER_LINK:
                current.status = Consent.Status.LOCKED
                current.save(update_fields=["status"])
                consent_event_append(consent=current, kind="locked", details={"reason": "challenges_used"})
            else:
                expires_at = timezone.now() + timedelta(seconds=settings.CANDOR_CONSENT_CHALLENGE_S)
                current.challenge = {**challenge_new(), "expires_at": expires_at.isoformat()}
                current.challenges_issued += 1
                current.save(update_fields=["challenge", "challenges_issued"])
                consent_event_append(
                    consent=current, kind="challenge_issued", details={"number": current.challenges_issued}
                )
    consent.status, consent.challenge = current.status, current.challenge
    consent.challenges_issued = current.challenges_issued
    return consent.challenge


def challenge_open(challenge: dict) -> bool:
    """Whether a link's challenge may still be answered: issued, not yet failed, not expired."""
    expires_at = challenge.get("expires_at")
    return bool(challenge.get("id")) and expires_at is not None and datetime.fromisoformat(expires_at) > timezone.now()
