"""Steps that many tests take through the HTTP API: upload, request consent, approve; and a frozen clock."""

from __future__ import annotations

import contextlib
import io
from unittest import mock


def threads_running() -> int:
    """The threads of this process now (the kernel's count: native threads too)."""
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("Threads:")).split()[1])


def upload_portrait(client, jpeg: bytes, *, name="Eileen Collins", email="eileen@example.com"):
    return client.post(
        "/api/portraits/",
        {"image": _named(jpeg, "portrait.jpg"), "subject_name": name, "subject_email": email},
        format="multipart",
    )


def consent_token_from(outbox) -> str:
    tokens = outbox.links(r"/consent/([A-Za-z0-9_\-]+)/")
    assert tokens, "no consent link was emailed"
    return tokens[-1]


def decide(public_client, token: str, *, capture, decision="approve", **scope):
    """Decline, or approve with a recorded file answering the link's challenge (which waits for staff review):
    `capture` is bytes (sent as they are), a callable challenge -> bytes, or None.
    """
    challenge = public_client.get(f"/api/consent/{token}/").json()["challenge"]
    data = {"challenge_id": challenge["id"], "full_name": "Eileen Collins", "decision": decision, **scope}
    if callable(capture):
        capture = capture(challenge)
    if capture is not None:
        data["capture"] = _named(capture, "capture.mp4")
    return public_client.post(f"/api/consent/{token}/", data, format="multipart")


def approve_live(public_client, token: str, webm: bytes, *, full_name="Eileen Collins", **finish):
    """Approve through the live capture: stream `webm` (answering the fixed schedule) at a camera's pace, then finish
    with the person's name and any narrower scope; returns the finish response.
    """
    from tests.live import live_stream

    return live_stream(
        public_client, f"/api/consent/{token}/captures/", webm, finish={"full_name": full_name, **finish}
    )


def active_portrait(api, public_api, outbox, portrait_jpeg, live_webm, **scope) -> str:
    """Upload a portrait and have the person pictured approve it with a live capture; returns the portrait id."""
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    assert api.post(f"/api/portraits/{portrait_id}/consent-request/", scope, format="json").status_code == 201
    response = approve_live(public_api, consent_token_from(outbox), live_webm)
    assert response.status_code == 200, response.json()
    return portrait_id


def register_face(public_api, outbox, live_webm, *, email="eileen@example.com", kind=None, confirm=True):
    """Register the face in `live_webm` through the registry API (live capture, then the emailed confirmation);
    returns the RegistryEntry.
    """
    from consent.models import RegistryEntry
    from tests.live import live_stream

    started = public_api.post("/api/registry/", {"email": email, **({"kind": kind} if kind else {})}, format="json")
    assert started.status_code == 201, started.json()
    entry_id = started.json()["id"]
    captured = live_stream(public_api, f"/api/registry/{entry_id}/captures/", live_webm)
    assert captured.status_code == 200, captured.json()
    assert captured.json()["status"] == "email_pending"
    if confirm:
        confirm_token = outbox.links(r"/registry/confirm/([A-Za-z0-9_\-]+)/")[-1]
        assert public_api.get(f"/registry/confirm/{confirm_token}/").status_code == 200, (
            "opening the link confirms nothing"
        )
        assert RegistryEntry.objects.get(id=entry_id).status == "email_pending"
        assert public_api.post(f"/registry/confirm/{confirm_token}/").status_code == 200
    return RegistryEntry.objects.get(id=entry_id)


def named_capture(data: bytes) -> io.BytesIO:
    return _named(data, "capture.mp4")


def _named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


@contextlib.contextmanager
def frozen_clock(at):
    """Django's clock stopped at `at` (an aware datetime) for everything that asks timezone.now()."""
    with mock.patch("django.utils.timezone.now", return_value=at):
        yield


def render_request(api, portrait_id, **fields):
    data = {"portrait": portrait_id, "purpose": "marketing", "text": "Hello there.", "language": "en", **fields}
    return api.post("/api/renders/", data, format="multipart")


def portrait_with_active_consent(owner, jpeg: bytes, *, name="Eileen Collins", email="eileen@example.com", days=30):
    """A portrait whose consent is active for every purpose and language, granted through the ORM: for tests about
    renders and verification (the approval flow has its own tests)."""
    from datetime import timedelta

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from consent.models import Consent
    from consent.services import consent_request_create
    from studio.services import portrait_create

    portrait = portrait_create(
        owner=owner,
        image=SimpleUploadedFile("portrait.jpg", jpeg, content_type="image/jpeg"),
        subject_name=name,
        subject_email=email,
    )
    consent = consent_request_create(portrait=portrait, requested_by=owner)
    Consent.objects.filter(id=consent.id).update(
        status=Consent.Status.ACTIVE,
        purposes=consent.requested_purposes,
        languages=["any"],
        expires_at=timezone.now() + timedelta(days=days),
        decided_at=timezone.now(),
        full_name=name,
    )
    return portrait


@contextlib.contextmanager
def module_render(django_db_blocker, jpeg: bytes, *, username: str, text: str, serial: int | None = None, **options):
    """One finished render made by the real pipeline for a module's tests, committed outside the tests' transactions
    and removed by hand afterwards. A fixed `serial` seeds the animation, so the render (and every distance measured
    on it) is the same each run; `options` are render_enqueue's output choices."""
    from django.contrib.auth import get_user_model

    from studio.models import Render
    from studio.services import render_enqueue, render_run

    with django_db_blocker.unblock():
        owner = get_user_model().objects.create_user(
            username=username, email=f"{username}@example.com", password="x-secret-3"
        )
        portrait = portrait_with_active_consent(owner, jpeg)
        queued = render_enqueue(
            owner=owner, portrait=portrait, purpose="marketing", text=text, language="en", dispatch=False, **options
        )
        if serial is not None:
            Render.objects.filter(id=queued.id).update(watermark_serial=serial)
        render_run(render_id=queued.id)
        done = Render.objects.get(id=queued.id)
        assert done.status == Render.Status.DONE, done.error
        yield done
        Render.objects.filter(id=done.id).delete()
        owner.delete()


def bytes_streamed(client, captures_url: str, data: bytes, *, seconds: float = 15.0, finish: dict | None = None):
    """Send `data` that is no recording (a still photo, a decode bomb) as a live capture's stream: its bytes cut into
    timeslice pieces arriving at a camera's pace for `seconds` (past the end of the schedule), then finish; returns the
    finish response.
    """
    from datetime import timedelta

    from django.utils import timezone

    opened = client.post(captures_url, format="json")
    assert opened.status_code == 201, opened.json()
    body = opened.json()
    count = int(seconds / 0.25)
    size = -(-len(data) // count)
    start = timezone.now()
    for seq in range(count):
        piece = data[seq * size : (seq + 1) * size] or b"\0"
        with frozen_clock(start + timedelta(seconds=seq * 0.25)):
            response = client.post(f"{body['chunks_url']}{seq}/", data=piece, content_type="video/webm")
        assert response.status_code == 200, response.json()
    with frozen_clock(start + timedelta(seconds=seconds)):
        return client.post(body["finish_url"], finish or {}, format="json")
