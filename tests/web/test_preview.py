"""The first-second preview on the New video page: gated by consent like a render, labelled and watermarked, never
stored.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile

from consent.models import ConsentEvent
from inference import media
from provenance.label import frame_label
from studio.models import Portrait, Render
from tests.helpers import upload_portrait
from verifier.services import video_verify

from .approval import consent_approved

pytestmark = pytest.mark.django_db(transaction=True)

FORM = {
    "purpose": "marketing",
    "source": "text",
    "text": "Hello there, welcome to our shop.",
    "language": "en",
    "voice": "",
    "label": "on",
}


def _preview_mp4(html: str, folder: Path) -> Path:
    encoded = re.search(r'src="data:video/mp4;base64,([A-Za-z0-9+/=]+)"', html).group(1)
    path = folder / "preview.mp4"
    path.write_bytes(base64.b64decode(encoded))
    return path


def test_a_preview_without_active_consent_is_refused_with_the_reason(page, api, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    consent = consent_approved(portrait_id=portrait_id, languages=["en"])
    form = {**FORM, "portrait": portrait_id}
    consent.status = "revoked"
    consent.save(update_fields=["status"])
    refused = page.post("/renders/preview/", form)
    assert refused.status_code == 400 and b"data:video/mp4" not in refused.content
    assert "No preview: The person pictured has no active consent for this portrait" in refused.content.decode()

    consent.status = "active"
    consent.save(update_fields=["status"])
    other_language = page.post("/renders/preview/", {**form, "text": "Hallo zusammen.", "language": "de"})
    assert other_language.status_code == 403
    assert "No preview: the consent does not cover the language &#x27;de&#x27;" in other_language.content.decode()
    assert b"data:video/mp4" not in other_language.content
    assert ConsentEvent.objects.filter(kind="render_refused", details__language="de").exists()
    assert not Render.objects.exists()


def test_a_preview_is_one_second_labelled_and_watermarked_and_nothing_is_stored(
    page, api, portrait_jpeg, tmp_path, settings
):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    consent_approved(portrait_id=portrait_id)
    response = page.post(
        "/renders/preview/", {**FORM, "portrait": portrait_id, "voice": "en-us+f3", "label_corner": "top-right"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Preview of the first second" in html
    # The form comes back as it was sent, ready to make the whole video.
    assert 'value="en-us+f3" data-gender="female" data-sample="/voices/en/en-us+f3/sample.wav" selected' in html
    assert "Hello there, welcome to our shop.</textarea>" in html
    path = _preview_mp4(html, tmp_path)

    info = media.video_probe(path)
    assert info.frame_count == settings.CANDOR_RENDER_FPS and abs(info.duration_s - 1.0) < 0.05
    assert info.has_audio and abs(info.audio_duration_s - 1.0) < 0.1

    report = video_verify(path=path)
    assert report.watermark["found"] and report.watermark["render_id"] is None
    assert report.verdict == "candor_preview" and report.render is None  # nothing stored to name
    assert any("this is a one-second preview made with Candor" in line for line in report.explanation)

    # The visible label darkens its box in the corner the form chose, as in every render.
    first = next(media.video_frames(path))
    box = (frame_label(np.full_like(first, 255), "top-right") != 255).any(axis=2)
    assert box[:20, -20:].any() and not box[:20, :20].any()
    with Portrait.objects.get().image.open("rb") as handle:
        photo = cv2.resize(media.image_decode(handle.read()), first.shape[1::-1], interpolation=cv2.INTER_AREA)
    assert first[box].mean() < 0.75 * photo[box].mean()
    assert abs(first[~box].mean() - photo[~box].mean()) < 10

    assert not Render.objects.exists()
    assert ConsentEvent.objects.filter(kind="render_previewed", details__portrait=portrait_id).count() == 1


def test_a_recording_is_previewed_from_its_first_second(page, api, portrait_jpeg, tmp_path):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    consent_approved(portrait_id=portrait_id)
    seconds = np.arange(48_000) / 16_000
    recording = io.BytesIO()
    soundfile.write(recording, (0.3 * np.sin(2 * np.pi * 180 * seconds)).astype(np.float32), 16_000, format="WAV")
    recording.seek(0)
    recording.name = "hello.wav"
    response = page.post(
        "/renders/preview/", {**FORM, "portrait": portrait_id, "source": "audio", "text": "", "audio": recording}
    )
    assert response.status_code == 200, response.content.decode()
    assert abs(media.video_probe(_preview_mp4(response.content.decode(), tmp_path)).duration_s - 1.0) < 0.05


def test_the_api_previews_the_first_second_as_mp4(api, portrait_jpeg, tmp_path):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    data = {
        "portrait": portrait_id,
        "purpose": "marketing",
        "text": "Hello there, welcome to our shop.",
        "language": "en",
    }
    refused = api.post("/api/renders/preview/", data, format="multipart")
    assert refused.status_code == 403 and refused.json()["error"] == "consent_required"
    consent_approved(portrait_id=portrait_id)
    response = api.post("/api/renders/preview/", data, format="multipart")
    assert response.status_code == 200 and response["Content-Type"] == "video/mp4"
    path = tmp_path / "preview.mp4"
    path.write_bytes(response.content)
    assert media.video_probe(path).frame_count == 25
    assert not Render.objects.exists()
