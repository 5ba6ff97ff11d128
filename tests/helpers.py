"""Steps that many tests take through the HTTP API: upload, request consent, approve; and a frozen clock."""

from __future__ import annotations

import contextlib
import io
from unittest import mock


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


def decide(public_client, token: str, *, capture, decision="approve", capture_source="camera", **scope):
    """Answer the link's current challenge: `capture` is bytes (sent as they are), a callable challenge -> bytes, or
    None; sent as the consent page's camera recorder sends it unless capture_source says otherwise.
    """
    challenge = public_client.get(f"/api/consent/{token}/").json()["challenge"]
    data = {
        "challenge_id": challenge["id"],
        "full_name": "Eileen Collins",
        "decision": decision,
        "capture_source": capture_source,
        **scope,
    }
    if callable(capture):
        capture = capture(challenge)
    if capture is not None:
        data["capture"] = _named(capture, "capture.mp4")
    return public_client.post(f"/api/consent/{token}/", data, format="multipart")


def active_portrait(api, public_api, outbox, portrait_jpeg, live_capture, **scope) -> str:
    """Upload a portrait and have the person pictured approve it with a live capture; returns the portrait id."""
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    assert api.post(f"/api/portraits/{portrait_id}/consent-request/", scope, format="json").status_code == 201
    response = decide(public_api, consent_token_from(outbox), capture=live_capture)
    assert response.status_code == 200, response.json()
    return portrait_id


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
