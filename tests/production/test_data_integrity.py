"""Renders, revocations and deletions at the same time: afterwards the rows, the files on disk and the audit
log agree.
"""

from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from consent.models import Consent, ConsentEvent
from consent.services import consent_revoke
from studio.models import Render
from studio.services import render_delete, render_enqueue, render_run
from tests.helpers import portrait_with_active_consent

pytestmark = pytest.mark.django_db(transaction=True)

SHORT_TEXT = "Hello there, this is a short message for you."


@pytest.fixture(autouse=True)
def own_media_folder(settings, tmp_path):
    """Files left by earlier tests (their rows are gone) must not count here."""
    settings.MEDIA_ROOT = tmp_path / "media"


def _revoke_token(portrait) -> str:
    token = secrets.token_urlsafe(24)
    Consent.objects.filter(portrait=portrait).update(revoke_token=token)
    return token


def _media_files(folder: str) -> set[str]:
    root = Path(settings.MEDIA_ROOT) / folder
    return {f"{folder}/{path.name}" for path in root.iterdir()} if root.exists() else set()


def _assert_everything_agrees(*, deleted=()) -> None:
    renders = list(Render.objects.all())
    for render in renders:
        if render.id in deleted:
            assert not render.video and not render.audio, render
        elif render.status == Render.Status.DONE:
            assert render.video and (Path(settings.MEDIA_ROOT) / render.video.name).exists(), render
        else:
            assert not render.video, render
    referenced = {render.video.name for render in renders if render.video}
    assert _media_files("videos") == referenced, "every video on disk belongs to a finished render, and only those"
    for render in renders:
        assert ConsentEvent.objects.filter(kind="render_allowed", details__render=str(render.id)).count() == 1
        started = ConsentEvent.objects.filter(kind="render_started", details__render=str(render.id)).count()
        assert started == render.attempts
    for consent in Consent.objects.filter(status=Consent.Status.REVOKED):
        assert ConsentEvent.objects.filter(consent=consent, kind="revoked").count() == 1
        assert not consent.renders.filter(status__in=[Render.Status.QUEUED, Render.Status.RUNNING]).exists()
        assert not consent.renders.filter(status=Render.Status.DONE, finished_at__gt=consent.revoked_at).exists()


def test_a_revocation_during_signing_leaves_no_video_behind(creator, consented_portrait):
    render = render_enqueue(
        owner=creator, portrait=consented_portrait, purpose="marketing", text=SHORT_TEXT, language="en", dispatch=False
    )
    token = _revoke_token(consented_portrait)

    def revoke_once_encoded(progress: float) -> None:
        if progress >= 0.92:  # the MP4 is written; signing and storing come next
            consent_revoke(revoke_token=token)

    render_run(render_id=render.id, on_progress=revoke_once_encoded)
    render.refresh_from_db()
    assert render.status == Render.Status.CANCELLED and not render.video
    assert _media_files("videos") == set()
    _assert_everything_agrees()


def test_concurrent_renders_revocations_and_deletions_agree_afterwards(creator, consented_portrait, portrait_jpeg):
    second = portrait_with_active_consent(creator, portrait_jpeg, name="Second Sitter", email="second@example.com")
    revoked = [
        render_enqueue(
            owner=creator,
            portrait=consented_portrait,
            purpose="marketing",
            text=SHORT_TEXT,
            language="en",
            dispatch=False,
        )
        for _ in range(3)
    ]
    kept = [
        render_enqueue(
            owner=creator, portrait=second, purpose="marketing", text=SHORT_TEXT, language="en", dispatch=False
        )
        for _ in range(3)
    ]
    token = _revoke_token(consented_portrait)
    started = threading.Event()

    def run(render):
        try:
            started.set()
            render_run(render_id=render.id)
        finally:
            connection.close()

    def meddle():
        try:
            started.wait()
            time.sleep(1.0)
            consent_revoke(revoke_token=token)
            render_delete(render=Render.objects.get(id=kept[0].id))
            time.sleep(1.0)
            render_delete(render=Render.objects.get(id=kept[1].id))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(run, render) for render in revoked + kept] + [pool.submit(meddle)]
        for future in futures:
            future.result()

    _assert_everything_agrees(deleted={kept[0].id, kept[1].id})
    assert {render.status for render in Render.objects.filter(consent__portrait=consented_portrait)} <= {
        "cancelled",
        "done",
    }
    assert Render.objects.get(id=kept[2].id).status == Render.Status.DONE
    assert not Render.objects.get(id=kept[0].id).video and not Render.objects.get(id=kept[1].id).video
