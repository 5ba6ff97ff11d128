"""Previews count against the consent's preview quota, shown to the creator; a preview the engine could not make is
given back; under a consent limited to languages a preview's words are checked like a render's.
"""

from __future__ import annotations

import io

import pytest
import soundfile

from consent.models import Consent, ConsentEvent
from core.errors import ApplicationError, ErrorCode
from inference import speech
from studio.services import render_preview

pytestmark = pytest.mark.django_db

TEXT = "Hello there, welcome to our shop."


def _preview(portrait, **fields) -> bytes:
    return render_preview(portrait=portrait, purpose="marketing", **{"text": TEXT, "language": "en", **fields})


def _previews_left(api, portrait) -> int | None:
    return api.get(f"/api/portraits/{portrait.id}/").json()["previews_left"]


def test_previews_stop_at_the_quota_and_the_creator_sees_how_many_are_left(
    api, consented_portrait, settings, client, creator
):
    settings.CANDOR_MAX_PREVIEWS_PER_CONSENT = 2
    assert _previews_left(api, consented_portrait) == 2
    assert _preview(consented_portrait)[4:8] == b"ftyp"
    assert _previews_left(api, consented_portrait) == 1
    assert _preview(consented_portrait)[4:8] == b"ftyp"  # the last one the quota allows
    assert _previews_left(api, consented_portrait) == 0

    with pytest.raises(ApplicationError) as refused:
        _preview(consented_portrait)
    assert refused.value.code == ErrorCode.CONSENT_REQUIRED and refused.value.status_code == 403
    assert "allows 2 one-second previews and all are used" in refused.value.detail
    events = ConsentEvent.objects.filter(consent__portrait=consented_portrait)
    assert events.filter(kind="render_previewed").count() == 2
    assert events.filter(kind="render_refused", details__reason=refused.value.detail).exists()

    client.force_login(creator)
    assert "0 one-second previews left" in client.get("/").content.decode()
    # The API answers the same refusal to a client.
    response = api.post(
        "/api/renders/preview/",
        {"portrait": str(consented_portrait.id), "purpose": "marketing", "text": TEXT, "language": "en"},
        format="multipart",
    )
    assert response.status_code == 403 and response.json()["error"] == "consent_required"


def test_a_portrait_without_active_consent_shows_no_previews_left(api, consented_portrait):
    Consent.objects.filter(portrait=consented_portrait).update(status=Consent.Status.REVOKED)
    assert _previews_left(api, consented_portrait) is None


def test_a_preview_the_engine_could_not_make_is_given_back(api, consented_portrait, settings, tmp_path):
    settings.CANDOR_MAX_PREVIEWS_PER_CONSENT = 1
    settings.CANDOR_NEURAL_MODEL = str(tmp_path / "missing.onnx")
    with pytest.raises(ApplicationError) as failed:
        _preview(consented_portrait)
    assert failed.value.code == ErrorCode.INVALID_NEURAL_MODEL
    assert ConsentEvent.objects.filter(kind="render_preview_failed").count() == 1
    assert _previews_left(api, consented_portrait) == 1

    settings.CANDOR_NEURAL_MODEL = ""
    assert _preview(consented_portrait)[4:8] == b"ftyp"
    assert _previews_left(api, consented_portrait) == 0


def test_a_preview_of_a_recording_under_a_consent_limited_to_languages_needs_its_transcript(api, consented_portrait):
    Consent.objects.filter(portrait=consented_portrait).update(languages=["en"])
    spoken = speech.synthesize(TEXT, "en")
    handle = io.BytesIO()
    soundfile.write(handle, spoken.audio, spoken.sample_rate, format="WAV")
    data = {"portrait": str(consented_portrait.id), "purpose": "marketing", "language": "en"}

    handle.seek(0)
    handle.name = "hello.wav"
    refused = api.post("/api/renders/preview/", {**data, "audio": handle}, format="multipart")
    assert refused.status_code == 400 and refused.json()["error"] == "language_unverified"
    assert _previews_left(api, consented_portrait) == 5  # a refusal takes no preview

    handle.seek(0)
    response = api.post("/api/renders/preview/", {**data, "audio": handle, "transcript": TEXT}, format="multipart")
    assert response.status_code == 200 and response["Content-Type"] == "video/mp4"
    assert _previews_left(api, consented_portrait) == 4
