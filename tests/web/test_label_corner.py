"""Where the visible "AI-generated" label goes: the server's default corner, or the one a render asks for, drawn into
every frame of the finished video."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inference import media
from provenance.label import frame_label
from studio.models import Portrait, Render
from studio.services import render_run
from tests.helpers import upload_portrait

from .approval import consent_approved

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def portrait_id(api, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    consent_approved(portrait_id=portrait_id)
    return portrait_id


def test_a_render_takes_the_servers_corner_unless_it_asks_for_another(api, portrait_id, settings):
    settings.CANDOR_LABEL_CORNER = "top-right"
    speech = {"portrait": portrait_id, "purpose": "support", "text": "One.", "language": "en"}
    default = api.post("/api/renders/", speech)
    chosen = api.post("/api/renders/", {**speech, "label_corner": "bottom-left"})
    assert default.status_code == chosen.status_code == 202
    assert Render.objects.get(id=default.json()["id"]).label_corner == "top-right"
    assert Render.objects.get(id=chosen.json()["id"]).label_corner == "bottom-left"

    refused = api.post("/api/renders/", {**speech, "label_corner": "middle"})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid"
    assert Render.objects.count() == 2


def test_the_new_video_form_offers_the_corners_with_the_servers_default_chosen(page, portrait_id, settings):
    settings.CANDOR_LABEL_CORNER = "top-right"
    html = page.get("/renders/new/").content.decode()
    assert '<option value="top-right" selected>Top right</option>' in html
    assert '<option value="bottom-left">Bottom left</option>' in html


def test_the_finished_video_carries_the_label_in_the_corner_the_form_chose(page, portrait_id):
    response = page.post(
        "/renders/new/",
        {
            "portrait": portrait_id,
            "purpose": "marketing",
            "source": "text",
            "text": "Hello there.",
            "language": "en",
            "label": "on",
            "label_corner": "top-right",
        },
    )
    assert response.status_code == 302, response.content.decode()
    item = render_run(render_id=Render.objects.get().id)
    first = next(media.video_frames(item.video.path))
    box = (frame_label(np.full_like(first, 255), "top-right") != 255).any(axis=2)
    assert box[:20, -20:].any() and not box[-20:, :20].any()
    with Portrait.objects.get().image.open("rb") as handle:
        photo = cv2.resize(media.image_decode(handle.read()), first.shape[1::-1], interpolation=cv2.INTER_AREA)
    # The label's dark box is drawn in that corner; elsewhere the frame is the animated photo.
    assert first[box].mean() < 0.75 * photo[box].mean()
    assert abs(first[~box].mean() - photo[~box].mean()) < 10
