"""Consent records of the person pictured, the face registry (do-not-generate, send-to-me), and the signed log of every
consent event.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Purpose(models.TextChoices):
    """What a video may be used for: the one list the consent scope, the render and the forms use."""

    MARKETING = "marketing"
    EDUCATION = "education"
    SUPPORT = "support"
    ENTERTAINMENT = "entertainment"
    PERSONAL = "personal"


PURPOSES: list[str] = list(Purpose.values)

# Each purpose as the person pictured reads it on their page, in the consent text and in their receipt.
PURPOSE_WORDS: dict[str, str] = {
    Purpose.MARKETING: "marketing and advertising",
    Purpose.EDUCATION: "teaching and training",
    Purpose.SUPPORT: "customer support and help pages",
    Purpose.ENTERTAINMENT: "entertainment",
    Purpose.PERSONAL: "personal, non-commercial use",
}


class ConsentState(models.TextChoices):
    """A consent as the creator's pages and the verifier describe it now (its stored status, read with the clock)."""

    NONE = "none"
    PENDING = "pending"
    AWAITING_REVIEW = "awaiting_review"
    ACTIVE = "active"
    DECLINED = "declined"
    REVOKED = "revoked"
    EXPIRED = "expired"
    LOCKED = "locked"
    ERASED = "erased"


class Consent(models.Model):
    """One request to the person pictured and, once they decide, the scope they granted.

    `token` is the capability in the approval link (no account needed); `revoke_token`
    is sent only with the confirmation, so revoking needs the person's own mailbox.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        # The person approved; staff review the capture before the consent is active (ConsentReview).
        AWAITING_REVIEW = "awaiting_review"
        ACTIVE = "active"
        DECLINED = "declined"
        REVOKED = "revoked"
        EXPIRED = "expired"
        LOCKED = "locked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    portrait = models.ForeignKey("studio.Portrait", on_delete=models.CASCADE, related_name="consents")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consent_requests"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_purposes = models.JSONField()
    requested_languages = models.JSONField()
    requested_expires_at = models.DateTimeField()
    requested_max_renders = models.PositiveIntegerField(null=True, blank=True)
    # Who asks, as the person sees it on their page and in the receipt: the creator's name and organisation when the
    # request was made, and the creator's message to them.
    requester_name = models.CharField(max_length=200, blank=True)
    requester_organisation = models.CharField(max_length=200, blank=True)
    requester_message = models.TextField(max_length=1000, blank=True)
    purposes = models.JSONField(default=list)
    languages = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    max_renders = models.PositiveIntegerField(null=True, blank=True)
    # The person's choice: may the creator make videos without the visible "AI-generated" label? Off unless they
    # allowed it; the watermark and the signed record are added either way.
    allow_label_removal = models.BooleanField(default=False)
    token = models.CharField(max_length=64, unique=True)
    link_expires_at = models.DateTimeField()
    # When the person pictured first loaded their link's page (the creator's own visits are not counted).
    link_opened_at = models.DateTimeField(null=True, blank=True)
    revoke_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    # The link's one open challenge (with its "expires_at"); {} once a capture failed it, until the page asks again.
    challenge = models.JSONField(default=dict)
    challenges_issued = models.PositiveSmallIntegerField(default=0)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    full_name = models.CharField(max_length=200, blank=True)
    match_distance = models.FloatField(null=True, blank=True)
    # What the live capture showed (turns seen, lip sync, frames), kept with the decision.
    liveness = models.JSONField(default=dict, blank=True)
    # The consent text shown to the person: its version and the SHA-256 of its exact wording.
    consent_text_version = models.CharField(max_length=32, blank=True)
    consent_text_sha256 = models.CharField(max_length=64, blank=True)
    # Set when the portrait's face matched a send-to-me registry entry: the link and every later email went to the
    # address registered with that face, never to the portrait's subject_email (which the creator typed).
    routed = models.BooleanField(default=False)
    routed_to = models.ForeignKey(
        "RegistryEntry", on_delete=models.SET_NULL, null=True, blank=True, related_name="routed_consents"
    )
    routed_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"consent {self.id} ({self.status})"

    @property
    def requester_display(self) -> str:
        """The creator as the person reads it: "Maya Weber (Acme Films)"; the username where no name was given."""
        name = self.requester_name or self.requested_by.username
        return f"{name} ({self.requester_organisation})" if self.requester_organisation else name

    @property
    def recipient_email(self) -> str:
        """Where this request's emails go: the registered address when routed, else the address the creator typed."""
        return self.routed_email if self.routed else self.portrait.subject_email


class RegistryEntry(models.Model):
    """A face registered by its owner with a live capture, then confirmed by email; no account.

    `do_not_generate`: uploads of the face are refused. `send_to_me`: consent requests for portraits of the face are
    emailed to this entry's address instead of the one the creator typed.
    """

    class Kind(models.TextChoices):
        DO_NOT_GENERATE = "do_not_generate"
        SEND_TO_ME = "send_to_me"

    class Status(models.TextChoices):
        CAPTURE_PENDING = "capture_pending"
        EMAIL_PENDING = "email_pending"
        ACTIVE = "active"
        REMOVED = "removed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField()
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.DO_NOT_GENERATE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CAPTURE_PENDING)
    descriptor = models.JSONField(null=True, blank=True)
    liveness = models.JSONField(default=dict, blank=True)
    confirm_token = models.CharField(max_length=64, unique=True)
    # Sent only once the email is confirmed; removal also needs a live capture of the same face.
    remove_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "registry entries"

    def __str__(self) -> str:
        return f"registry entry {self.id} ({self.kind}, {self.status})"


class LiveCapture(models.Model):
    """A live, server-paced capture: the browser streams camera and microphone in short chunks while the server
    reveals prompts at times it chose (`schedule`), so a file made before the prompts were seen cannot answer them.

    It belongs to one consent link, or to one registry entry (registering or removing the face). Each chunk's arrival
    time is kept (`arrivals`: [bytes so far, seconds since chunk 0 arrived]) to check that the media came at the pace it
    was recorded; `revealed` maps each prompt's id to the second it was first shown.
    """

    class Purpose(models.TextChoices):
        CONSENT = "consent"
        REGISTRY_REGISTER = "registry_register"
        REGISTRY_REMOVE = "registry_remove"

    class Status(models.TextChoices):
        OPEN = "open"
        # Ended without a decision: superseded by a newer capture on the same link, or expired.
        CLOSED = "closed"
        PASSED = "passed"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    consent = models.ForeignKey(Consent, on_delete=models.CASCADE, null=True, blank=True, related_name="captures")
    registration = models.ForeignKey(
        RegistryEntry, on_delete=models.CASCADE, null=True, blank=True, related_name="captures"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    # The prompts with the second (after chunk 0) each is due; never sent before it is revealed.
    schedule = models.JSONField()
    revealed = models.JSONField(default=dict)
    arrivals = models.JSONField(default=list)
    chunks_received = models.PositiveIntegerField(default=0)
    bytes_received = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    first_chunk_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    refusal = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return f"live capture {self.id} ({self.purpose}, {self.status})"


class LiveCaptureChunk(models.Model):
    """One piece of a live capture's stream, kept until the capture finishes (then deleted with the analysis done)."""

    capture = models.ForeignKey(LiveCapture, on_delete=models.CASCADE, related_name="chunks")
    seq = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["seq"]
        constraints = [models.UniqueConstraint(fields=["capture", "seq"], name="live_capture_chunk_seq")]

    def __str__(self) -> str:
        return f"chunk {self.seq} of live capture {self.capture_id}"


class RegistryHold(models.Model):
    """A portrait upload that resembles a registered face without matching it surely: held for a person to review."""

    class Status(models.TextChoices):
        HELD = "held"
        RELEASED = "released"
        REFUSED = "refused"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="registry_holds")
    entry = models.ForeignKey(RegistryEntry, on_delete=models.CASCADE, related_name="holds")
    distance = models.FloatField()
    image = models.FileField(upload_to="registry_holds/")
    subject_name = models.CharField(max_length=200)
    subject_email = models.EmailField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The reviewer's reasons: kept for the audit log and staff, never shown to the creator (it may describe the
    # registrant).
    review_note = models.TextField(blank=True)
    # The portrait made from a released upload, so that the creator can go on to ask for consent.
    portrait = models.ForeignKey("studio.Portrait", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"registry hold {self.id} ({self.status})"


class ConsentReview(models.Model):
    """An approval held for a staff decision: why it was held, what the capture measured, and the capture itself,
    encrypted, until the decision (at most CONSENT_REVIEW_DAYS, see consent/services/review.py).
    """

    class Decision(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REFUSED = "refused"
        # Nobody decided in time: the capture was purged and the consent expired.
        EXPIRED = "expired"
        # The person revoked (or erased) while it waited: closed unseen, the capture deleted.
        WITHDRAWN = "withdrawn"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    consent = models.OneToOneField(Consent, on_delete=models.CASCADE, related_name="review")
    reasons = models.JSONField(default=list)
    # Every figure the decision rests on: match distance and threshold, liveness record, capture source, failures.
    figures = models.JSONField(default=dict)
    # The capture as sent, Fernet-encrypted (never stored in clear); emptied at the decision or the purge.
    capture = models.FileField(upload_to="consent_reviews/", blank=True)
    # A few frames of the capture (identity frames, then one per head turn): Fernet tokens of JPEGs.
    key_frames = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decided_at = models.DateTimeField(null=True, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The reviewer's reasons: for the audit log and staff, never in the receipt or the emails.
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"consent review {self.id} ({self.decision})"


class ConsentEvent(models.Model):
    """Append-only log of consent and registry events: each row's hash covers the previous one's, and is signed.

    `previous_hash` is unique, so two writers racing to append after the same entry cannot fork the chain.
    """

    consent = models.ForeignKey(Consent, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    registration = models.ForeignKey(
        RegistryEntry, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    kind = models.CharField(max_length=32)
    details = models.JSONField(default=dict)
    # Set by the appender before hashing (auto_now_add would overwrite the hashed time on save).
    created_at = models.DateTimeField(default=timezone.now)
    previous_hash = models.CharField(max_length=64, unique=True)
    entry_hash = models.CharField(max_length=64, unique=True)
    signature = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"consent event {self.id} ({self.kind})"
