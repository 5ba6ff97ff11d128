"""Consent records of the person pictured, and the log of every consent event."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

PURPOSES = ["marketing", "education", "support", "entertainment", "personal"]


class Consent(models.Model):
    """One request to the person pictured and, once they decide, the scope they granted.

    `token` is the capability in the approval link (no account needed); `revoke_token`
    is sent only with the confirmation, so revoking needs the person's own mailbox.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        ACTIVE = "active"
        DECLINED = "declined"
        REVOKED = "revoked"
        EXPIRED = "expired"
        LOCKED = "locked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    portrait = models.ForeignKey("studio.Portrait", on_delete=models.CASCADE, related_name="consents")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consent_requests")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_purposes = models.JSONField()
    requested_languages = models.JSONField()
    requested_expires_at = models.DateTimeField()
    requested_max_renders = models.PositiveIntegerField(null=True, blank=True)
    purposes = models.JSONField(default=list)
    languages = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    max_renders = models.PositiveIntegerField(null=True, blank=True)
    token = models.CharField(max_length=64, unique=True)
    link_expires_at = models.DateTimeField()
    revoke_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    challenge = models.JSONField(default=dict)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    full_name = models.CharField(max_length=200, blank=True)
    match_distance = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"consent {self.id} ({self.status})"


class ConsentEvent(models.Model):
    """Append-only log of consent events; each row's hash covers the previous row's hash."""

    consent = models.ForeignKey(Consent, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32)
    details = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
