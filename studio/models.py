"""Portraits a creator uploaded and the renders made from them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from consent.models import Purpose
from inference.framing import ASPECT_RATIOS, BACKGROUND_BLUR
from provenance.label import DEFAULT_LABEL_CORNER, LABEL_CORNERS

LABEL_CORNER_CHOICES = [(corner, corner.replace("-", " ").capitalize()) for corner in LABEL_CORNERS]
ASPECT_RATIO_CHOICES = [(ratio, "As the photo" if ratio == "original" else ratio) for ratio in ASPECT_RATIOS]
TITLE_MAX_CHARS = 120


class Portrait(models.Model):
    """A normalized portrait photo with its detected face; the descriptor is what consent identity is matched
    against.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portraits")
    image = models.FileField(upload_to="portraits/", blank=True)
    subject_name = models.CharField(max_length=200)
    subject_email = models.EmailField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    face_box = models.JSONField()
    landmarks = models.JSONField()
    descriptor = models.JSONField()
    # The descriptor of the photo's mirror image, which consent and the registry compare too (consent/face_match.py);
    # null where its face was not found, or for a portrait stored before it was kept.
    mirrored_descriptor = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.subject_name} ({self.id})"


class Render(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="renders")
    portrait = models.ForeignKey(Portrait, on_delete=models.PROTECT, related_name="renders")
    consent = models.ForeignKey("consent.Consent", on_delete=models.PROTECT, related_name="renders")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    language = models.CharField(max_length=16, blank=True)
    text = models.TextField(blank=True)
    # The speech synthesizer's voice for the text (e.g. "de+f2"); empty: the language's default voice.
    voice = models.CharField(max_length=40, blank=True, default="")
    audio = models.FileField(upload_to="audio/", blank=True)
    # What the uploaded recording says, as the creator pasted it: its words become the video's captions.
    transcript = models.TextField(blank=True, default="")
    label = models.BooleanField(default=True)
    # The engine's facial expression (inference.animation.EXPRESSIONS), held through the video.
    expression = models.CharField(max_length=16, default="neutral")
    # Where the visible label is drawn: one of provenance.label.LABEL_CORNERS.
    label_corner = models.CharField(max_length=12, choices=LABEL_CORNER_CHOICES, default=DEFAULT_LABEL_CORNER)
    # The output's shape (inference/framing.py): aspect ratio, long side in pixels (null: as animated), and what fills
    # the canvas around the portrait ("blur" or "#rrggbb").
    aspect_ratio = models.CharField(max_length=10, choices=ASPECT_RATIO_CHOICES, default="original")
    long_side = models.PositiveSmallIntegerField(null=True, blank=True)
    background = models.CharField(max_length=7, default=BACKGROUND_BLUR)
    # Shown in the library; the creator may edit it (default: the start of the script).
    title = models.CharField(max_length=TITLE_MAX_CHARS, blank=True, default="")
    # A JPEG of one published frame (label and watermark on), saved when the render finishes.
    thumbnail = models.FileField(upload_to="thumbnails/", blank=True)
    # Compact id carried by the invisible watermark; random so it reveals no counts.
    watermark_serial = models.PositiveBigIntegerField(unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    video = models.FileField(upload_to="videos/", blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The client's Idempotency-Key header: a retried submission finds its first render instead of making another.
    idempotency_key = models.CharField(max_length=100, blank=True, default="")
    # How often a worker started this render; more than one means earlier workers died mid-render.
    attempts = models.PositiveSmallIntegerField(default=0)
    # When its job reached the broker; empty while the broker was unreachable (a periodic job retries).
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="render_idempotency_key_unique",
            )
        ]

    def __str__(self) -> str:
        return f"render {self.id} ({self.status})"


class ShareLink(models.Model):
    """A public link to one render's video: a random token that names nothing, kept here so it can be revoked."""

    render = models.ForeignKey(Render, on_delete=models.CASCADE, related_name="share_links")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"share link of render {self.render_id}"


class ApiToken(models.Model):
    """A creator's API token, stored only as its keyed hash (studio/accounts.py): the database never holds the token."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_token")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"API token of {self.user_id}"
