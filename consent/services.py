"""Consent actions (request, live identity-matched decision, receipt, revoke, erase, expire), the render gate, the registry, the signed log."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.core.mail import EmailMessage, send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from inference import faces, media
from inference.errors import InferenceError
from core.errors import ApplicationError, ErrorCode

from . import liveness, signing
from .models import PURPOSES, Consent, ConsentEvent, RegistryEntry, RegistryHold

TURNS = ["left", "right", "up", "down"]
GENESIS_HASH = "0" * 64
EVENT_APPEND_TRIES = 5
# The consent text the person reads; a new wording gets a new version (template consent/consent_text_v<N>.txt).
CONSENT_TEXT_VERSION = "1"
RECEIPT_TYPE = "candor.consent-receipt.v1"
# Do-not-generate registry: a wrong match blocks an innocent creator, so refusing needs a closer match than
# consent's 0.5 (changed copies of one photo measure 0.07-0.13, different people 0.70 on the photos here);
# between the two thresholds the upload is held for a person to review instead of being refused.
REGISTRY_REFUSE_DISTANCE = 0.4
REGISTRY_REVIEW_DISTANCE = 0.55
# A reviewer's outcomes for a held upload: the portrait goes ahead, or the block stands.
REGISTRY_REVIEW_DECISIONS = ("release", "refuse")
# Frames read for Candor's own watermark in a capture (a Candor render carries it in every frame).
WATERMARK_FRAMES = 10
# Refusals that show an attempt to pass someone else's face or a replay count towards locking the link.
COUNTED_REFUSALS = {
    ErrorCode.IDENTITY_MISMATCH,
    ErrorCode.CHALLENGE_NOT_ANSWERED,
    ErrorCode.LIP_SYNC_FAILED,
    ErrorCode.DIGITS_MISMATCH,
    ErrorCode.CANDOR_GENERATED_CAPTURE,
    ErrorCode.LIVENESS_NO_FACE,
}


@dataclass(frozen=True)
class Scope:
    purposes: list[str]
    languages: list[str]  # language codes, or ["any"]
    expires_at: datetime
    max_renders: int | None


def event_body(
    *, consent_id: str | None, registration_id: str | None, kind: str, details: dict, at: str, previous: str
) -> bytes:
    """The canonical bytes an entry's hash covers (entries without a registry entry keep the original shape)."""
    body = {"consent": consent_id, "kind": kind, "details": details, "at": at, "prev": previous}
    if registration_id is not None:
        body["registration"] = registration_id
    return json.dumps(body, sort_keys=True).encode()


def consent_event_append(
    *, consent: Consent | None = None, registration: RegistryEntry | None = None, kind: str, details: dict | None = None
) -> ConsentEvent:
    """Append to the hash-chained log and sign the entry (the chain makes silent edits detectable, the signature forgery)."""
    details = details or {}
    tries = 1
    while True:
        try:
            with transaction.atomic():
                return _event_create(consent=consent, registration=registration, kind=kind, details=details)
        except IntegrityError:
            # Another process appended after the same entry first (previous_hash is unique): chain onto theirs.
            if tries >= EVENT_APPEND_TRIES:
                raise
            tries += 1


def _event_create(*, consent, registration, kind: str, details: dict) -> ConsentEvent:
    previous = ConsentEvent.objects.order_by("-id").values_list("entry_hash", flat=True).first() or GENESIS_HASH
    created_at = timezone.now()
    body = event_body(
        consent_id=str(consent.id) if consent else None,
        registration_id=str(registration.id) if registration else None,
        kind=kind,
        details=details,
        at=created_at.isoformat(),
        previous=previous,
    )
    entry_hash = hashlib.sha256(body).hexdigest()
    return ConsentEvent.objects.create(
        consent=consent,
        registration=registration,
        kind=kind,
        details=details,
        created_at=created_at,
        previous_hash=previous,
        entry_hash=entry_hash,
        signature=signing.sign(entry_hash.encode()),
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
        raise ApplicationError(ErrorCode.INVALID_SCOPE, f"unknown purposes {unknown}; choose from {PURPOSES}")
    languages = _languages_normalize(languages or ["any"])
    now = timezone.now()
    expires_at = expires_at or now + timedelta(days=365)
    if expires_at <= now:
        raise ApplicationError(ErrorCode.INVALID_SCOPE, "expires_at must be in the future")
    if max_renders is not None and max_renders < 1:
        raise ApplicationError(ErrorCode.INVALID_SCOPE, "max_renders must be at least 1")
    return Scope(purposes=sorted(set(purposes)), languages=languages, expires_at=expires_at, max_renders=max_renders)


def _languages_normalize(languages: list[str]) -> list[str]:
    from inference import speech

    codes = sorted({code.strip().lower() for code in languages if code.strip()})
    if not codes or "any" in codes:
        return ["any"]
    supported = speech.languages()
    unknown = [code for code in codes if code not in supported]
    if unknown:
        raise ApplicationError(
            ErrorCode.UNKNOWN_LANGUAGE, f"unknown language codes {unknown}; supported: {sorted(supported)}"
        )
    return codes


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
    nearest, distance = _registry_nearest(portrait.descriptor)
    if nearest is not None and distance <= REGISTRY_REFUSE_DISTANCE:
        raise ApplicationError(
            ErrorCode.FACE_OPTED_OUT, "the person in this photo asked that their face never be animated"
        )
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
    _email_after_commit(
        subject=f"{requested_by.username} asks to animate your photo with Candor",
        template="consent/email_request.txt",
        context=context,
        to=portrait.subject_email,
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
        raise ApplicationError(ErrorCode.NOT_FOUND, "this consent link does not exist")
    return consent


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
        consent.challenge = _challenge_new()
        consent.save(update_fields=["challenge"])
        consent_event_append(consent=consent, kind="viewed")
    return consent.challenge


def _link_check_open(consent: Consent) -> None:
    if consent.status == Consent.Status.LOCKED:
        raise ApplicationError(
            ErrorCode.LINK_LOCKED, "too many failed identity checks; ask the requester for a new link"
        )
    if consent.status == Consent.Status.EXPIRED and consent.decided_at is None:
        raise ApplicationError(ErrorCode.LINK_EXPIRED, "this consent link has expired; ask the requester for a new one")
    if consent.status != Consent.Status.PENDING:
        raise ApplicationError(ErrorCode.LINK_USED, f"this link was already used (consent is {consent.status})")
    if consent.link_expires_at <= timezone.now():
        raise ApplicationError(ErrorCode.LINK_EXPIRED, "this consent link has expired; ask the requester for a new one")


@dataclass(frozen=True)
class CaptureCheck:
    """A live capture that answered its challenge: the face's median descriptor, and what the clip showed."""

    descriptor: np.ndarray
    liveness: dict


def capture_check(*, capture: bytes, challenge: dict, english: bool = False) -> CaptureCheck:
    """Refuse a still, a Candor-generated clip, or a clip that does not answer the challenge live; else the face's descriptor.

    english: the digits read aloud are recognized offline (pocketsphinx's English model) and must be the
    challenge's; in any language the lips must move with the recorded speech.
    """
    from provenance.keys import secret_load_or_create
    from provenance.watermark import watermark_read

    try:
        media.image_decode(capture, max_side=64)
    except InferenceError:
        pass
    else:
        raise ApplicationError(
            ErrorCode.LIVENESS_REQUIRED,
            "a photo cannot prove that you are present; record a short video answering the challenge (camera, or a video file)",
        )
    try:
        clip = liveness.clip_decode(capture)
    except InferenceError as error:
        if error.code in ("invalid_audio", "silent_audio"):
            raise ApplicationError(
                ErrorCode.LIVENESS_REQUIRED, "the video must have sound: read the digits aloud while you record"
            ) from error
        raise ApplicationError(
            ErrorCode.LIVENESS_REQUIRED, f"the capture must be a short video answering the challenge: {error.detail}"
        ) from error
    reading = watermark_read(
        iter(clip.frames), secret_load_or_create(settings.KEYS_DIR, "watermark"), max_frames=WATERMARK_FRAMES
    )
    if reading.found:
        raise ApplicationError(
            ErrorCode.CANDOR_GENERATED_CAPTURE,
            "this video was generated by Candor; only a live recording of yourself is accepted",
        )
    result = liveness.clip_liveness(
        clip, turns=list(challenge.get("turns", [])), digits=challenge.get("digits") if english else None
    )
    if result.failure is not None:
        raise ApplicationError(ErrorCode(result.failure), result.detail)
    descriptors = []
    for index in result.identity_frames:
        found = faces.faces_detect(clip.frames[index])
        if found:
            descriptors.append(faces.face_descriptor(clip.frames[index], found[0]))
    if not descriptors:
        raise ApplicationError(
            ErrorCode.LIVENESS_NO_FACE,
            "no face could be measured in the capture; face the camera in good light",
        )
    record = {**result.as_record(), "challenge": challenge.get("id"), "watermark_checked": True}
    return CaptureCheck(descriptor=np.median(np.stack(descriptors), axis=0), liveness=record)


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
    """The person pictured approves (live, identity-matched, scope no wider than asked) or declines; a signed receipt follows."""
    _link_check_open(consent)
    if challenge_id != consent.challenge.get("id"):
        raise ApplicationError(ErrorCode.CHALLENGE_MISMATCH, "the challenge has changed; reload the page and try again")
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
            _attempt_failed(consent, refusal)
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
                **_scope_json(scope),
                "match_distance": round(distance, 4),
                "liveness": check.liveness,
                **_text_json(text),
            },
        )
        _receipt_email(consent)
    return consent


def _decision_record(consent: Consent, status_: str, *, full_name: str, text: ConsentText) -> None:
    consent.status = status_
    consent.full_name = full_name.strip()
    consent.decided_at = timezone.now()
    consent.consent_text_version = text.version
    consent.consent_text_sha256 = text.sha256
    # The same private link revokes an approval and erases the portrait, whichever the decision was.
    consent.revoke_token = secrets.token_urlsafe(32)
    consent.save()


def _email_after_commit(*, subject: str, template: str, context: dict, to: str) -> None:
    """Send once the transaction commits, so no email ever carries a link to a rolled-back record."""
    message = render_to_string(template, context)
    transaction.on_commit(lambda: send_mail(subject=subject, message=message, from_email=None, recipient_list=[to]))


def _text_json(text: ConsentText) -> dict:
    return {"consent_text_version": text.version, "consent_text_sha256": text.sha256}


def _receipt_email(consent: Consent) -> None:
    base = settings.CANDOR_PUBLIC_URL
    context = {
        "consent": consent,
        "revoke_link": f"{base}/consent/revoke/{consent.revoke_token}/",
        "receipt_link": f"{base}/api/consent/{consent.token}/receipt/",
        "events_link": f"{base}/api/consent/{consent.token}/events/",
        "public_key_link": f"{base}/api/consent/public-key/",
    }
    approved = consent.status == Consent.Status.ACTIVE
    message = EmailMessage(
        subject="You approved a Candor consent: keep this email to revoke it"
        if approved
        else "You declined a Candor consent request",
        body=render_to_string("consent/email_approved.txt" if approved else "consent/email_declined.txt", context),
        to=[consent.portrait.subject_email],
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
        "revoke_url": f"{settings.CANDOR_PUBLIC_URL}/consent/revoke/{consent.revoke_token}/",
    }
    return {
        "receipt": receipt,
        "algorithm": signing.ALGORITHM,
        "key_id": signing.key_id(),
        "signature": signing.sign(receipt_bytes(receipt)),
    }


def receipt_bytes(receipt: dict) -> bytes:
    return json.dumps(receipt, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _attempt_failed(consent: Consent, refusal: ApplicationError) -> None:
    with transaction.atomic():
        consent.failed_attempts += 1
        if consent.failed_attempts >= settings.CANDOR_CONSENT_MAX_ATTEMPTS:
            consent.status = Consent.Status.LOCKED
        consent.save(update_fields=["failed_attempts", "status"])
        consent_event_append(consent=consent, kind="capture_refused", details={"reason": refusal.code})
    remaining = settings.CANDOR_CONSENT_MAX_ATTEMPTS - consent.failed_attempts
    refusal.detail = f"{refusal.detail} ({remaining} attempts left)"


def _scope_granted(consent: Consent, *, purposes, languages, expires_at) -> Scope:
    purposes = sorted(set(purposes)) if purposes else list(consent.requested_purposes)
    wider = set(purposes) - set(consent.requested_purposes)
    if wider:
        raise ApplicationError(ErrorCode.INVALID_SCOPE, f"purposes {sorted(wider)} were not requested")
    languages = _languages_normalize(languages) if languages else list(consent.requested_languages)
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


def _consent_for_revoke_token(revoke_token: str) -> Consent:
    consent = Consent.objects.select_related("portrait").filter(revoke_token=revoke_token).first()
    if consent is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "this revoke link does not exist")
    return consent


def consent_revoke(*, revoke_token: str) -> Consent:
    """Revoke by the link from the confirmation email; queued and running renders of this consent are cancelled."""
    from studio.services import renders_cancel_for_consent

    consent = _consent_for_revoke_token(revoke_token)
    with transaction.atomic():
        if consent.status == Consent.Status.ACTIVE:
            consent.status = Consent.Status.REVOKED
            consent.revoked_at = timezone.now()
            consent.save(update_fields=["status", "revoked_at"])
            cancelled = renders_cancel_for_consent(consent=consent)
            consent_event_append(consent=consent, kind="revoked", details={"renders_cancelled": cancelled})
    return consent


def consent_erase(*, revoke_token: str) -> Consent:
    """The person pictured has their portrait erased: consent revoked, photo, descriptor and rendered videos deleted.

    The rows stay, stripped to ids, dates and scope, so the verifier can still say a video's consent was erased.
    """
    from studio.captions import captions_delete
    from studio.models import Portrait, Render
    from studio.services import portrait_rigs_delete

    consent = consent_revoke(revoke_token=revoke_token)
    portrait = consent.portrait
    if portrait.erased_at is not None:
        return consent
    renders = Render.objects.filter(portrait=portrait)
    with transaction.atomic():
        for render in renders.exclude(video=""):
            render.video.delete(save=False)
        for render in renders.exclude(audio=""):
            render.audio.delete(save=False)
        for render in renders:
            captions_delete(render_id=render.id)  # they hold the spoken words
        renders.update(video="", audio="", text="")
        if portrait.image:
            portrait.image.delete(save=False)
        portrait_rigs_delete(portrait=portrait)
        Portrait.objects.filter(id=portrait.id).update(
            image="", descriptor=[], landmarks=[], subject_name="", subject_email="", erased_at=timezone.now()
        )
        Consent.objects.filter(portrait=portrait).update(full_name="")
        consent_event_append(consent=consent, kind="erased", details={"portrait": str(portrait.id)})
    consent.refresh_from_db()
    return consent


def consents_expire_due(*, portrait=None) -> int:
    """Mark active consents past their end date expired, cancelling their queued and running renders; returns how many."""
    from studio.services import renders_cancel_for_consent

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
                cancelled = renders_cancel_for_consent(consent=consent, reason="consent expired")
                consent_event_append(consent=consent, kind="expired", details={"renders_cancelled": cancelled})
                count += 1
    return count


def consent_links_expire_due() -> int:
    """Expire the pending requests whose link ran out unanswered (logged), so the creator sees that; returns how many."""
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


def consent_gate(*, portrait, purpose: str, language: str) -> Consent:
    """The active consent that covers this render, or a 403 saying what is missing (the refusal is logged)."""
    from .selectors import consent_active_for_portrait, consent_latest_for_portrait

    consents_expire_due(portrait=portrait)
    consent = consent_active_for_portrait(portrait=portrait)
    reason = None
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
    if reason is not None:
        consent_event_append(
            consent=consent or consent_latest_for_portrait(portrait=portrait),
            kind="render_refused",
            details={"portrait": str(portrait.id), "purpose": purpose, "language": language, "reason": reason},
        )
        raise ApplicationError(ErrorCode.CONSENT_REQUIRED, reason)
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


def registry_entry_start(*, email: str) -> RegistryEntry:
    """Begin registering a face as not to be animated: a challenge to answer with a live capture."""
    entry = RegistryEntry.objects.create(
        email=email.strip().lower(), challenge=_challenge_new(), confirm_token=secrets.token_urlsafe(32)
    )
    consent_event_append(registration=entry, kind="registry_started")
    return entry


def registry_entry_get(*, entry_id) -> RegistryEntry:
    entry = RegistryEntry.objects.filter(id=entry_id).first()
    if entry is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "this registration does not exist")
    return entry


def registry_challenge_issue(*, entry: RegistryEntry) -> dict:
    """A fresh challenge for the next live capture (registration, or removal of an active entry)."""
    if entry.status in (RegistryEntry.Status.CAPTURE_PENDING, RegistryEntry.Status.ACTIVE):
        entry.challenge = _challenge_new()
        entry.save(update_fields=["challenge"])
    return entry.challenge


def _registry_capture(entry: RegistryEntry, *, capture: bytes | None, challenge_id: str) -> CaptureCheck:
    if challenge_id != entry.challenge.get("id"):
        raise ApplicationError(ErrorCode.CHALLENGE_MISMATCH, "the challenge has changed; reload and try again")
    if entry.failed_attempts >= settings.CANDOR_CONSENT_MAX_ATTEMPTS:
        raise ApplicationError(ErrorCode.LINK_LOCKED, "too many failed captures; start a new registration")
    if not capture:
        raise ApplicationError(
            ErrorCode.LIVENESS_REQUIRED, "a short live video of you answering the challenge is needed"
        )
    try:
        return capture_check(capture=capture, challenge=entry.challenge)
    except ApplicationError as refusal:
        if refusal.code in COUNTED_REFUSALS:
            RegistryEntry.objects.filter(id=entry.id).update(failed_attempts=entry.failed_attempts + 1)
            consent_event_append(registration=entry, kind="capture_refused", details={"reason": refusal.code})
        raise


def registry_capture_submit(*, entry: RegistryEntry, capture: bytes | None, challenge_id: str) -> RegistryEntry:
    """Store the live face's descriptor and email a confirmation link; the entry blocks nothing until confirmed."""
    if entry.status != RegistryEntry.Status.CAPTURE_PENDING:
        raise ApplicationError(ErrorCode.LINK_USED, f"this registration is {entry.status}")
    check = _registry_capture(entry, capture=capture, challenge_id=challenge_id)
    with transaction.atomic():
        entry.descriptor = check.descriptor.tolist()
        entry.liveness = check.liveness
        entry.status = RegistryEntry.Status.EMAIL_PENDING
        entry.save(update_fields=["descriptor", "liveness", "status"])
        consent_event_append(registration=entry, kind="registry_captured", details={"liveness": check.liveness})
        link = f"{settings.CANDOR_PUBLIC_URL}/registry/confirm/{entry.confirm_token}/"
        _email_after_commit(
            subject="Confirm: never animate my face with Candor",
            template="consent/email_registry_confirm.txt",
            context={"link": link},
            to=entry.email,
        )
    return entry


def registry_confirm(*, confirm_token: str) -> RegistryEntry:
    """The emailed link confirms the registration; from now on uploads of this face are refused."""
    entry = RegistryEntry.objects.filter(confirm_token=confirm_token).first()
    if entry is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "this confirmation link does not exist")
    if entry.status != RegistryEntry.Status.EMAIL_PENDING:
        raise ApplicationError(ErrorCode.LINK_USED, f"this registration is {entry.status}")
    with transaction.atomic():
        entry.status = RegistryEntry.Status.ACTIVE
        entry.confirmed_at = timezone.now()
        entry.remove_token = secrets.token_urlsafe(32)
        entry.challenge = _challenge_new()
        entry.save(update_fields=["status", "confirmed_at", "remove_token", "challenge"])
        consent_event_append(registration=entry, kind="registry_confirmed")
        link = f"{settings.CANDOR_PUBLIC_URL}/registry/remove/{entry.remove_token}/"
        _email_after_commit(
            subject="Your face is in Candor's do-not-generate registry",
            template="consent/email_registry_active.txt",
            context={"link": link},
            to=entry.email,
        )
    return entry


def registry_entry_for_removal(*, remove_token: str) -> RegistryEntry:
    entry = RegistryEntry.objects.filter(remove_token=remove_token).first()
    if entry is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "this removal link does not exist")
    return entry


def registry_remove(*, entry: RegistryEntry, capture: bytes | None, challenge_id: str) -> RegistryEntry:
    """Removal needs the emailed link and a live capture of the same face: nobody else can lift someone's opt-out."""
    if entry.status != RegistryEntry.Status.ACTIVE:
        raise ApplicationError(ErrorCode.LINK_USED, f"this registration is {entry.status}")
    check = _registry_capture(entry, capture=capture, challenge_id=challenge_id)
    distance = faces.descriptor_distance(check.descriptor, np.asarray(entry.descriptor))
    if distance > faces.IDENTITY_THRESHOLD:
        RegistryEntry.objects.filter(id=entry.id).update(failed_attempts=entry.failed_attempts + 1)
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


def registry_screen(*, owner, descriptor: np.ndarray, image_jpeg: bytes, subject_name: str, subject_email: str) -> None:
    """Refuse a portrait upload whose face is in the registry; hold a borderline match for review instead of refusing it."""
    from django.core.files.base import ContentFile

    nearest, distance = _registry_nearest(descriptor)
    if nearest is None or distance > REGISTRY_REVIEW_DISTANCE:
        return
    if distance <= REGISTRY_REFUSE_DISTANCE:
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


def _registry_nearest(descriptor) -> tuple[RegistryEntry | None, float]:
    """The active registry entry closest to a face descriptor, and its distance (a linear scan: fine for thousands)."""
    nearest, distance = None, float("inf")
    for entry in RegistryEntry.objects.filter(status=RegistryEntry.Status.ACTIVE).only("id", "descriptor"):
        candidate = faces.descriptor_distance(np.asarray(descriptor), np.asarray(entry.descriptor))
        if candidate < distance:
            nearest, distance = entry, candidate
    return nearest, distance


def registry_hold_release(*, hold: RegistryHold, reviewer, decision: str, note: str = "") -> RegistryHold:
    """A reviewer's outcome for an upload the registry held: `release` makes the portrait (consent may then be asked),
    `refuse` confirms the block; either way the held photo is deleted, the outcome logged and the creator told."""
    from studio.services import portrait_create_released

    if not (reviewer.is_active and reviewer.is_staff and reviewer.has_perm("consent.change_registryhold")):
        raise ApplicationError(
            ErrorCode.PERMISSION_DENIED, "only staff allowed to change registry holds can review them"
        )
    if decision not in REGISTRY_REVIEW_DECISIONS:
        raise ApplicationError(ErrorCode.INVALID, f"decision must be one of {list(REGISTRY_REVIEW_DECISIONS)}")
    with transaction.atomic():
        hold = RegistryHold.objects.select_for_update().select_related("owner", "entry").get(id=hold.id)
        if hold.status != RegistryHold.Status.HELD:
            raise ApplicationError(ErrorCode.ALREADY_REVIEWED, f"this upload was already reviewed ({hold.status})")
        subject_name, held_image = hold.subject_name, hold.image.name
        if decision == "release":
            hold.portrait = portrait_create_released(hold=hold)
            hold.status = RegistryHold.Status.RELEASED
        else:
            hold.status = RegistryHold.Status.REFUSED
        # The portrait (if any) now holds the photo and the subject's details; the hold keeps only the decision.
        hold.image, hold.subject_name, hold.subject_email = "", "", ""
        hold.reviewed_at, hold.reviewed_by, hold.review_note = timezone.now(), reviewer, note.strip()
        hold.save()
        consent_event_append(
            registration=hold.entry,
            kind=f"hold_{hold.status}",
            details={
                "hold": str(hold.id),
                "reviewer": reviewer.username,
                "note": hold.review_note,
                "portrait": str(hold.portrait_id) if hold.portrait_id else None,
            },
        )
        transaction.on_commit(lambda: hold.image.storage.delete(held_image))
        if hold.owner.email:
            link = f"{settings.CANDOR_PUBLIC_URL}/portraits/{hold.portrait_id}/" if hold.portrait_id else ""
            _email_after_commit(
                subject=f"Your portrait upload held for review was {hold.status}",
                template="consent/email_registry_hold_reviewed.txt",
                context={"hold": hold, "subject_name": subject_name, "link": link},
                to=hold.owner.email,
            )
    return hold
