"""Scope is enforced at enqueue and when the worker starts; revocation, expiry and erasure stop renders and show in the
verifier.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from consent.models import Consent
from studio.models import Portrait, Render
from tests.helpers import (
    active_portrait,
    approve_live,
    consent_token_from,
    frozen_clock,
    render_request,
    upload_portrait,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_person_can_narrow_the_scope_but_not_widen_it(api, public_api, outbox, portrait_jpeg, live_webm):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    requested_until = timezone.now() + timedelta(days=90)
    api.post(
        f"/api/portraits/{portrait_id}/consent-request/",
        {"purposes": ["education", "marketing"], "languages": ["en", "de"], "expires_at": requested_until.isoformat()},
        format="json",
    )
    token = consent_token_from(outbox)
    # The scope is checked at the finish, before the stream is analysed.
    for wider_scope in (
        {"purposes": ["education", "support"]},
        {"expires_at": (requested_until + timedelta(days=1)).isoformat()},
    ):
        opened = public_api.post(f"/api/consent/{token}/captures/", format="json").json()
        wider = public_api.post(opened["finish_url"], {"full_name": "Eileen Collins", **wider_scope}, format="json")
        assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    granted_until = timezone.now() + timedelta(days=10)
    narrower = approve_live(
        public_api,
        token,
        live_webm,
        purposes=["education"],
        languages=["de"],
        expires_at=granted_until.isoformat(),
    )
    assert narrower.status_code == 200, narrower.json()
    consent = Consent.objects.get()
    assert (consent.purposes, consent.languages) == (["education"], ["de"])
    assert abs((consent.expires_at - granted_until).total_seconds()) < 1
    assert render_request(api, portrait_id, purpose="marketing", language="de", text="Hallo.").status_code == 403
    assert render_request(api, portrait_id, purpose="education", language="en").status_code == 403
    # Under a consent limited to languages the text must read as its language: a whole sentence does.
    german = "Hallo zusammen, schön euch zu sehen."
    assert render_request(api, portrait_id, purpose="education", language="de", text=german).status_code == 202


def test_the_maximum_number_of_videos_is_enforced(api, public_api, outbox, portrait_jpeg, live_webm):
    portrait_id = active_portrait(api, public_api, outbox, portrait_jpeg, live_webm, max_renders=2)
    first = render_request(api, portrait_id).json()["id"]
    assert render_request(api, portrait_id).status_code == 202
    third = render_request(api, portrait_id)
    assert third.status_code == 403 and third.json()["error"] == "consent_required"
    assert "allows 2 videos" in third.json()["detail"]
    assert api.delete(f"/api/renders/{first}/").status_code == 204
    assert render_request(api, portrait_id).status_code == 202, "a cancelled render gives its place back"
    refused = Consent.objects.get().events.filter(kind="render_refused")
    assert refused.count() == 1 and "allows 2 videos" in refused.get().details["reason"]


def test_expiry_refuses_new_renders_and_cancels_queued_ones_at_enqueue(
    api, public_api, outbox, portrait_jpeg, live_webm
):
    until = timezone.now() + timedelta(days=1)
    portrait_id = active_portrait(api, public_api, outbox, portrait_jpeg, live_webm, expires_at=until.isoformat())
    queued = render_request(api, portrait_id).json()["id"]
    with frozen_clock(until + timedelta(seconds=1)):
        response = render_request(api, portrait_id)
        assert response.status_code == 403 and response.json()["error"] == "consent_required"
        assert api.get(f"/api/portraits/{portrait_id}/").json()["status"] == "expired"
    render = Render.objects.get(id=queued)
    assert render.status == "cancelled" and render.error == "consent expired"
    consent = Consent.objects.get()
    assert consent.status == "expired"
    assert consent.events.get(kind="expired").details == {"renders_cancelled": 1}


def test_a_render_queued_before_expiry_is_cancelled_when_the_worker_starts_it(
    api, public_api, outbox, portrait_jpeg, live_webm
):
    from studio.services import render_run

    until = timezone.now() + timedelta(hours=2)
    portrait_id = active_portrait(api, public_api, outbox, portrait_jpeg, live_webm, expires_at=until.isoformat())
    render_id = render_request(api, portrait_id).json()["id"]
    with frozen_clock(until + timedelta(minutes=1)):
        render_run(render_id=render_id)
    render = Render.objects.get(id=render_id)
    assert render.status == "cancelled" and not render.video and render.started_at is None


def test_revocation_stops_a_running_render(api, public_api, outbox, portrait_jpeg, live_webm):
    from studio.services import render_run

    portrait_id = active_portrait(api, public_api, outbox, portrait_jpeg, live_webm)
    render_id = render_request(
        api, portrait_id, text="This sentence is long enough to take a while to render, frame by frame."
    ).json()["id"]
    revoke_token = Consent.objects.get().revoke_token
    progress_seen = []

    def revoke_once_running(progress):
        progress_seen.append(progress)
        if len(progress_seen) == 1:
            assert Render.objects.get(id=render_id).status == "running"
            assert public_api.post(f"/api/consent/revoke/{revoke_token}/").json() == {"status": "revoked"}

    render_run(render_id=render_id, on_progress=revoke_once_running)
    render = Render.objects.get(id=render_id)
    assert render.status == "cancelled" and render.error == "consent was revoked"
    assert not render.video and max(progress_seen) < 0.9
    assert not list((Path(render.video.storage.location) / "videos").glob(f"*{render_id}*"))
    assert Consent.objects.get().events.get(kind="revoked").details == {"renders_cancelled": 1}


def _verify(public_api, video: bytes) -> dict:
    handle = io.BytesIO(video)
    handle.name = "video.mp4"
    return public_api.post("/api/verify/", {"video": handle}, format="multipart").json()


def test_a_finished_video_reports_expired_then_revoked_then_erased_and_stops_being_served(
    api, public_api, outbox, portrait_jpeg, live_webm
):
    from django.core.files.storage import default_storage

    from studio.captions import captions_name
    from studio.services import render_run

    until = timezone.now() + timedelta(days=3)
    portrait_id = active_portrait(api, public_api, outbox, portrait_jpeg, live_webm, expires_at=until.isoformat())
    render_id = render_request(api, portrait_id, text="Hi.").json()["id"]
    render_run(render_id=render_id)
    served = api.get(f"/api/renders/{render_id}/video/")
    assert served.status_code == 200
    video = b"".join(served.streaming_content)
    assert _verify(public_api, video)["render"]["consent_status"] == "active"

    with frozen_clock(until + timedelta(hours=1)):
        assert _verify(public_api, video)["render"]["consent_status"] == "expired"
        assert api.get(f"/api/renders/{render_id}/video/").json()["error"] == "consent_withdrawn"

    consent = Consent.objects.get()
    assert public_api.post(f"/api/consent/revoke/{consent.revoke_token}/").json() == {"status": "revoked"}
    assert _verify(public_api, video)["render"]["consent_status"] == "revoked"
    assert api.get(f"/api/renders/{render_id}/video/").status_code == 403

    portrait = Portrait.objects.get(id=portrait_id)
    assert len(portrait.mirrored_descriptor) == 128, "the mirror image's descriptor is kept at upload"
    photo_path = Path(portrait.image.path)
    video_path = Path(Render.objects.get(id=render_id).video.path)
    captions_path = Path(default_storage.path(captions_name(render_id)))
    assert captions_path.exists(), "a text render has captions"
    assert public_api.post(f"/api/consent/erase/{consent.revoke_token}/").json() == {"status": "erased"}
    portrait.refresh_from_db()
    assert not photo_path.exists() and not video_path.exists() and not captions_path.exists()
    assert (
        portrait.descriptor == [] and portrait.landmarks == [] and not portrait.image and portrait.subject_email == ""
    )
    assert portrait.mirrored_descriptor is None
    assert Consent.objects.get().full_name == ""
    report = _verify(public_api, video)
    assert report["verdict"] == "candor_generated" and report["render"]["consent_status"] == "erased"
    assert api.get(f"/api/portraits/{portrait_id}/").status_code == 404
    assert api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json").status_code == 404


def test_the_same_face_uploaded_by_another_creator_needs_its_own_consent(
    api, other_api, public_api, outbox, portrait_jpeg, live_webm
):
    active_portrait(api, public_api, outbox, portrait_jpeg, live_webm)
    other_id = upload_portrait(other_api, portrait_jpeg).json()["id"]
    refused = render_request(other_api, other_id)
    assert refused.status_code == 403 and refused.json()["error"] == "consent_required"
    assert other_api.post(f"/api/portraits/{other_id}/consent-request/", {}, format="json").status_code == 201
    assert approve_live(public_api, consent_token_from(outbox), live_webm).status_code == 200
    assert render_request(other_api, other_id).status_code == 202
    assert Consent.objects.filter(status="active").count() == 2


def test_each_link_serves_only_its_own_purpose(api, public_api, outbox, portrait_jpeg, live_webm):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")
    token = consent_token_from(outbox)
    assert public_api.post(f"/api/consent/revoke/{token}/").status_code == 404
    assert public_api.post(f"/api/consent/erase/{token}/").status_code == 404
    assert public_api.get(f"/api/consent/{token}/receipt/").json()["error"] == "not_decided"
    assert approve_live(public_api, token, live_webm).status_code == 200
    revoke_token = Consent.objects.get().revoke_token
    assert public_api.get(f"/api/consent/{revoke_token}/").status_code == 404
    assert public_api.post(f"/api/consent/{revoke_token}/captures/", format="json").status_code == 404
    again = public_api.post(f"/api/consent/{token}/captures/", format="json")
    assert again.status_code == 409 and again.json()["error"] == "link_used"


def test_the_consent_expire_command_expires_consents_nobody_asked_about(
    api, public_api, outbox, portrait_jpeg, live_webm, capsys
):
    from django.core.management import call_command

    until = timezone.now() + timedelta(days=1)
    portrait_id = active_portrait(api, public_api, outbox, portrait_jpeg, live_webm, expires_at=until.isoformat())
    queued = render_request(api, portrait_id).json()["id"]
    call_command("consent_expire")
    assert "0 consents expired" in capsys.readouterr().out
    with frozen_clock(until + timedelta(seconds=1)):
        call_command("consent_expire")
    assert "1 consents expired" in capsys.readouterr().out
    assert Consent.objects.get().status == "expired"
    assert Render.objects.get(id=queued).status == "cancelled"
