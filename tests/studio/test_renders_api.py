"""Render requests: bad speech input is refused with a reason and nothing is stored; lists stay private."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile

from studio.models import Render
from tests.helpers import active_portrait

pytestmark = pytest.mark.django_db(transaction=True)


def _audio_file(samples: np.ndarray, *, rate=16_000, fmt="WAV", name="speech.wav") -> io.BytesIO:
    handle = io.BytesIO()
    soundfile.write(handle, samples, rate, format=fmt)
    handle.seek(0)
    handle.name = name
    return handle


def _speechlike(seconds=1.0, rate=16_000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


@pytest.fixture
def portrait_id(api, public_api, outbox, subject_jpeg, live_webm):
    return active_portrait(api, public_api, outbox, subject_jpeg, live_webm)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        (lambda: {"audio": _audio_file(np.zeros(16_000, np.float32))}, "silent_audio"),
        (lambda: {"audio": _audio_file(np.zeros(0, np.float32))}, "invalid_audio"),
        (lambda: {"audio": io.BytesIO(b"")}, "invalid_audio"),
        (lambda: {"audio": io.BytesIO(b"ID3 this is not really an mp3")}, "invalid_audio"),
        (lambda: {"text": "Hello.", "language": "xx"}, "unknown_language"),
        (lambda: {"text": "Hello."}, "invalid"),
        (lambda: {"text": "Hello.", "language": "en", "audio": _audio_file(_speechlike())}, "invalid"),
        (lambda: {"text": "x" * 5001, "language": "en"}, "invalid"),
        (lambda: {}, "invalid"),
    ],
    ids=[
        "silent",
        "zero-length",
        "empty-file",
        "fake-mp3",
        "unknown-language",
        "no-language",
        "text-and-audio",
        "too-long",
        "nothing",
    ],
)
def test_bad_speech_input_is_refused_and_nothing_is_stored(api, portrait_id, fields, error):
    data = {"portrait": portrait_id, "purpose": "marketing", **fields()}
    for value in data.values():
        if isinstance(value, io.BytesIO) and not getattr(value, "name", None):
            value.name = "audio.wav"
    response = api.post("/api/renders/", data, format="multipart")
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == error and response.json()["detail"]
    assert Render.objects.count() == 0


@pytest.mark.parametrize(
    ("fmt", "name"),
    [
        ("OGG", "speech.ogg"),
        ("FLAC", "speech.flac"),
        ("WAV", "speech.wav"),
        ("WAV", "../speech.php"),
        ("FLAC", "speech"),
    ],
)
def test_common_audio_formats_are_accepted_and_stored_under_our_name(api, portrait_id, fmt, name):
    response = api.post(
        "/api/renders/",
        {"portrait": portrait_id, "purpose": "support", "audio": _audio_file(_speechlike(), fmt=fmt, name=name)},
        format="multipart",
    )
    assert response.status_code == 202, response.json()
    render = Render.objects.get(id=response.json()["id"])
    assert render.audio.size > 0
    # Whatever the client called it, the recording is stored as `<render id>.audio` (read by content, never by name).
    assert render.audio.name == f"audio/{render.id}.audio"


def test_render_lists_are_private_and_newest_first(api, other_api, portrait_id):
    first = api.post(
        "/api/renders/", {"portrait": portrait_id, "purpose": "support", "text": "One.", "language": "en"}
    ).json()
    second = api.post(
        "/api/renders/", {"portrait": portrait_id, "purpose": "support", "text": "Two.", "language": "en"}
    ).json()
    assert [r["id"] for r in api.get("/api/renders/").json()["results"]] == [second["id"], first["id"]]
    assert other_api.get("/api/renders/").json()["count"] == 0
    assert other_api.get(f"/api/renders/{first['id']}/").status_code == 404
    assert other_api.delete(f"/api/renders/{first['id']}/").status_code == 404
    assert other_api.get(f"/api/renders/{first['id']}/video/").status_code == 404


def test_a_video_is_not_served_before_it_is_done(api, portrait_id):
    render = api.post(
        "/api/renders/", {"portrait": portrait_id, "purpose": "support", "text": "One.", "language": "en"}
    ).json()
    assert render["video_url"] is None
    response = api.get(f"/api/renders/{render['id']}/video/")
    assert response.status_code == 409 and response.json()["error"] == "not_ready"
