"""A video carrying the preview watermark is answered as a Candor preview, in the headline, the explanation and the
fields alike; another serial that names no render stays not recognized, and its headline says the watermark was
found.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from inference import media
from provenance.services import PREVIEW_WATERMARK_SERIAL, _watermark_key
from provenance.watermark import FrameWatermarker
from verifier.report import report_as_dict
from verifier.services import video_verify

pytestmark = pytest.mark.django_db

NO_WATERMARK_HEADLINE = "we found no valid Candor signature or watermark"


def _marked(folder: Path, astronaut, serial: int) -> Path:
    marker = FrameWatermarker(serial, _watermark_key())
    path = folder / f"marked-{serial}.mp4"
    media.mp4_write(path, [marker.mark(astronaut) for _ in range(8)], np.zeros(8000, np.float32), 16000)
    return path


def _page(client, path: Path) -> str:
    upload = io.BytesIO(path.read_bytes())
    upload.name = path.name
    return client.post("/verify/", {"video": upload}).content.decode()


def test_a_preview_is_a_candor_preview_in_headline_explanation_and_fields(tmp_path, astronaut, client, public_api):
    path = _marked(tmp_path, astronaut, PREVIEW_WATERMARK_SERIAL)

    report = report_as_dict(video_verify(path=path))
    assert report["verdict"] == "candor_preview"
    assert report["render"] is None and report["content_match"] is None
    assert report["watermark"]["found"] is True and report["watermark"]["preview"] is True
    assert report["watermark"]["render_id"] is None
    explanation = " ".join(report["explanation"])
    assert "this is a one-second preview made with Candor (AI-generated)" in explanation
    assert "not a finished render" in explanation and "cannot say whose consent covered it" in explanation
    assert "No Candor watermark" not in explanation and "Not recognized" not in explanation

    html = _page(client, path)
    assert "A Candor preview: an AI-generated one-second preview made with Candor, not a finished render." in html
    assert "no consent status can be given for it" in html and NO_WATERMARK_HEADLINE not in html
    assert "found (a preview's)" in html

    with open(path, "rb") as handle:
        answered = public_api.post("/api/verify/", {"video": handle}, format="multipart").json()
    assert answered["verdict"] == "candor_preview" and answered["watermark"]["preview"] is True


def test_a_watermark_naming_no_render_is_not_recognized_and_the_headline_says_it_was_found(tmp_path, astronaut, client):
    path = _marked(tmp_path, astronaut, 424242)

    report = report_as_dict(video_verify(path=path))
    assert report["verdict"] == "not_recognized" and report["watermark"]["preview"] is False
    html = _page(client, path)
    assert "Candor's watermark was found, but it names no render on record here." in html
    assert NO_WATERMARK_HEADLINE not in html and "A Candor preview" not in html
