"""Portrait upload through the API: one real face required, bad files refused with nothing stored."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from studio.models import Portrait
from tests.helpers import upload_portrait

pytestmark = pytest.mark.django_db


def test_it_stores_a_portrait_with_its_detected_face(api, portrait_jpeg):
    response = upload_portrait(api, portrait_jpeg)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "none"
    x, y, w, h = body["face"]["box"]
    # The astronaut's face is in the upper middle of the photo.
    assert 150 < x < 220 and 50 < y < 110 and 70 < w < 130 and 70 < h < 130
    portrait = Portrait.objects.get(id=body["id"])
    assert len(portrait.descriptor) == 128 and len(portrait.landmarks) == 68
    assert portrait.image.size > 10_000


def test_it_lists_only_the_creators_own_portraits_newest_first(api, other_api, portrait_jpeg, capture_jpeg):
    first = upload_portrait(api, portrait_jpeg).json()["id"]
    second = upload_portrait(api, capture_jpeg).json()["id"]
    upload_portrait(other_api, portrait_jpeg)
    listed = api.get("/api/portraits/").json()
    assert [item["id"] for item in listed["results"]] == [second, first]
    assert listed["count"] == 2


def test_another_creators_portrait_is_not_found(api, other_api, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    assert other_api.get(f"/api/portraits/{portrait_id}/").status_code == 404
    response = other_api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_it_honours_exif_orientation(api, astronaut):
    rotated = Image.fromarray(np.rot90(astronaut).copy())  # stored sideways ...
    exif = Image.Exif()
    exif[0x0112] = 6  # ... and tagged "rotate 90 degrees clockwise to display"
    buffer = io.BytesIO()
    rotated.save(buffer, format="JPEG", exif=exif)
    response = upload_portrait(api, buffer.getvalue())
    assert response.status_code == 201, response.json()
    portrait = Portrait.objects.get(id=response.json()["id"])
    assert (portrait.width, portrait.height) == (512, 512)
    assert 150 < response.json()["face"]["box"][0] < 220


def _sixty_megapixel_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (7746, 7746)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("make_file", "error"),
    [
        (lambda f: b"this is plain text, not a photo\n" * 10, "unsupported_image"),
        (lambda f: b"", "unsupported_image"),
        (lambda f: _sixty_megapixel_png(), "too_large"),
        (lambda f: f["no_face_jpeg"], "no_face"),
        (lambda f: f["group"], "multiple_faces"),
    ],
    ids=["text-named-jpg", "empty", "60-megapixel", "no-face", "two-faces"],
)
def test_bad_images_are_refused_and_nothing_is_stored(api, make_file, error, no_face_jpeg, astronaut, grace_hopper):
    import cv2

    from inference.media import image_encode_jpeg

    side_by_side = np.concatenate([astronaut, cv2.resize(grace_hopper, (437, 512))], axis=1)
    files = {"no_face_jpeg": no_face_jpeg, "group": image_encode_jpeg(side_by_side)}
    response = upload_portrait(api, make_file(files))
    assert 400 <= response.status_code < 500
    body = response.json()
    assert body["error"] == error and body["detail"]
    assert Portrait.objects.count() == 0


def test_uploads_need_a_token(public_api, portrait_jpeg):
    response = upload_portrait(public_api, portrait_jpeg)
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_a_damaged_face_model_is_the_servers_fault_and_stores_nothing(api, portrait_jpeg, tmp_path, monkeypatch):
    """A broken installation answers 503 with its reason (not 400, which blames the upload, nor a 500)."""
    from inference import descriptor_net, faces

    models = tmp_path / "models"
    models.mkdir()
    for source in faces.model_path(descriptor_net.MODEL_FILENAME).parent.iterdir():
        (models / source.name).symlink_to(source)
    damaged = models / descriptor_net.MODEL_FILENAME
    damaged.unlink()
    damaged.write_bytes(faces.model_path(descriptor_net.MODEL_FILENAME).read_bytes()[:100_000])
    monkeypatch.setattr(faces, "_models_dir", lambda: models)
    faces._descriptor_model.cache_clear()
    try:
        response = upload_portrait(api, portrait_jpeg)
    finally:
        faces._descriptor_model.cache_clear()
    assert (response.status_code, response.json()["error"]) == (503, "engine_unavailable"), response.json()
    assert not Portrait.objects.exists()
