"""The periodic jobs Celery beat runs: consent expiry stops renders; abandoned media files are deleted, nothing else."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from consent.models import Consent, ConsentEvent
from studio.celery import app
from studio.models import Render
from studio.services import render_enqueue
from studio.tasks import consents_expire_task, uploads_abandoned_delete_task

pytestmark = pytest.mark.django_db


def test_beat_schedules_the_periodic_jobs_on_registered_tasks():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {"studio.tasks.consents_expire_task", "studio.tasks.uploads_abandoned_delete_task", "studio.tasks.renders_undispatched_dispatch_task"}
    assert scheduled <= set(app.tasks)


def test_consent_expiry_marks_consents_expired_and_cancels_their_queued_renders(creator, consented_portrait):
    render = render_enqueue(owner=creator, portrait=consented_portrait, purpose="marketing", text="Hello there.", language="en", dispatch=False)
    Consent.objects.filter(portrait=consented_portrait).update(expires_at=timezone.now() - timedelta(minutes=1))

    consents_expire_task()

    assert Consent.objects.get(portrait=consented_portrait).status == Consent.Status.EXPIRED
    render.refresh_from_db()
    assert render.status == Render.Status.CANCELLED and render.error == "consent expired"
    assert ConsentEvent.objects.filter(kind="expired").count() == 1
    consents_expire_task()  # a second sweep finds nothing more to do
    assert ConsentEvent.objects.filter(kind="expired").count() == 1


def test_abandoned_upload_clean_up_deletes_only_old_unreferenced_files(creator, consented_portrait):
    render = render_enqueue(
        owner=creator, portrait=consented_portrait, purpose="marketing", dispatch=False,
        audio=SimpleUploadedFile("speech.wav", _wav_bytes(), content_type="audio/wav"),
    )
    media = Path(settings.MEDIA_ROOT)
    old = time.time() - (settings.CANDOR_ABANDONED_UPLOAD_HOURS + 1) * 3600
    abandoned = [media / "audio" / "rolled-back.wav", media / "videos" / ".partial-killed.mp4", media / "portraits" / "gone.jpg"]
    fresh = media / "audio" / "in-flight.wav"
    for path in (*abandoned, fresh):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    for path in (*abandoned, media / render.audio.name, media / consented_portrait.image.name):
        os.utime(path, (old, old))

    uploads_abandoned_delete_task()

    assert not any(path.exists() for path in abandoned)
    assert fresh.exists()
    assert (media / render.audio.name).exists() and (media / consented_portrait.image.name).exists()


def _wav_bytes() -> bytes:
    import io

    import numpy as np
    import soundfile

    buffer = io.BytesIO()
    t = np.arange(16000) / 16000
    soundfile.write(buffer, 0.3 * np.sin(2 * np.pi * 220 * t), 16000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
