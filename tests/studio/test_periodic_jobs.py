"""The periodic jobs Celery beat runs: consent expiry stops renders; unanswered links expire; abandoned media files are
deleted, nothing else.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from config.celery import app
from consent.models import Consent, ConsentEvent
from consent.services import consent_request_create
from consent.tasks import consent_links_expire_task, consents_expire_task
from studio.models import Render
from studio.services import portrait_create, render_enqueue
from studio.tasks import uploads_abandoned_delete_task
from tests.helpers import frozen_clock

pytestmark = pytest.mark.django_db


def test_beat_schedules_the_periodic_jobs_on_registered_tasks():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {
        "consent.tasks.consents_expire_task",
        "studio.tasks.uploads_abandoned_delete_task",
        "studio.tasks.renders_undispatched_dispatch_task",
        "consent.tasks.consent_links_expire_task",
        "consent.tasks.consent_reviews_expire_task",
    }
    assert scheduled <= set(app.tasks)


def test_consent_expiry_marks_consents_expired_and_cancels_their_queued_renders(creator, consented_portrait):
    render = render_enqueue(
        owner=creator,
        portrait=consented_portrait,
        purpose="marketing",
        text="Hello there.",
        language="en",
        dispatch=False,
    )
    Consent.objects.filter(portrait=consented_portrait).update(expires_at=timezone.now() - timedelta(minutes=1))

    consents_expire_task()

    assert Consent.objects.get(portrait=consented_portrait).status == Consent.Status.EXPIRED
    render.refresh_from_db()
    assert render.status == Render.Status.CANCELLED and render.error == "consent expired"
    assert ConsentEvent.objects.filter(kind="expired").count() == 1
    consents_expire_task()  # a second sweep finds nothing more to do
    assert ConsentEvent.objects.filter(kind="expired").count() == 1


def test_unanswered_consent_links_expire_once_their_days_are_over(
    creator, api, public_api, portrait_jpeg, consented_portrait
):
    portrait = portrait_create(
        owner=creator,
        image=SimpleUploadedFile("p.jpg", portrait_jpeg, content_type="image/jpeg"),
        subject_name="Eileen Collins",
        subject_email="eileen@example.com",
    )
    asked_at = timezone.now()
    with frozen_clock(asked_at):
        pending = consent_request_create(portrait=portrait, requested_by=creator)
    # The answered consent's link is past its date too: only requests still waiting for an answer expire.
    Consent.objects.filter(portrait=consented_portrait).update(link_expires_at=asked_at - timedelta(days=1))

    with frozen_clock(asked_at + timedelta(days=settings.CANDOR_CONSENT_LINK_DAYS) - timedelta(minutes=1)):
        consent_links_expire_task()
    assert Consent.objects.get(id=pending.id).status == Consent.Status.PENDING
    assert api.get(f"/api/portraits/{portrait.id}/").json()["status"] == "pending"

    with frozen_clock(asked_at + timedelta(days=settings.CANDOR_CONSENT_LINK_DAYS, minutes=1)):
        consent_links_expire_task()
        consent_links_expire_task()  # a second sweep finds nothing more to do

    assert Consent.objects.get(id=pending.id).status == Consent.Status.EXPIRED
    assert Consent.objects.get(portrait=consented_portrait).status == Consent.Status.ACTIVE
    assert api.get(f"/api/portraits/{portrait.id}/").json()["status"] == "expired"
    events = api.get(f"/api/portraits/{portrait.id}/consent-events/").json()
    assert [event["kind"] for event in events] == ["requested", "link_expired"]
    assert events[-1]["details"] == {"link_expires_at": pending.link_expires_at.isoformat()}
    refused = public_api.get(f"/consent/{pending.token}/")
    assert b"expired" in refused.content
    late = public_api.post(
        f"/api/consent/{pending.token}/",
        {"decision": "decline", "challenge_id": "any", "full_name": "Eileen"},
    )
    assert late.status_code == 410 and late.json()["error"] == "link_expired"


def test_the_consent_expire_command_also_expires_unanswered_links(creator, portrait_jpeg, capsys):
    from django.core.management import call_command

    portrait = portrait_create(
        owner=creator,
        image=SimpleUploadedFile("p.jpg", portrait_jpeg, content_type="image/jpeg"),
        subject_name="Eileen Collins",
        subject_email="eileen@example.com",
    )
    consent_request_create(portrait=portrait, requested_by=creator)
    Consent.objects.update(link_expires_at=timezone.now() - timedelta(seconds=1))
    call_command("consent_expire")
    assert "1 unanswered consent links expired" in capsys.readouterr().out
    assert Consent.objects.get().status == Consent.Status.EXPIRED


def test_abandoned_upload_clean_up_deletes_only_old_unreferenced_files(creator, consented_portrait):
    render = render_enqueue(
        owner=creator,
        portrait=consented_portrait,
        purpose="marketing",
        dispatch=False,
        audio=SimpleUploadedFile("speech.wav", _wav_bytes(), content_type="audio/wav"),
    )
    media = Path(settings.MEDIA_ROOT)
    old = time.time() - (settings.CANDOR_ABANDONED_UPLOAD_HOURS + 1) * 3600
    abandoned = [
        media / "audio" / "rolled-back.wav",
        media / "videos" / ".partial-killed.mp4",
        media / "portraits" / "gone.jpg",
    ]
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
