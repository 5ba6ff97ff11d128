"""The portrait upload: the hint and the browser's checks come from the server's own rules, and a photo with several
faces is answered with the faces found, one of which the creator picks (the portrait kept is cropped to it)."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inference import faces, media
from studio.models import Portrait

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def two_people_jpeg(astronaut, grace_hopper) -> bytes:
    """The astronaut (left) beside Grace Hopper (right), both 512 px tall: a real photo with two real faces."""
    hopper = cv2.resize(grace_hopper, (round(grace_hopper.shape[1] * 512 / grace_hopper.shape[0]), 512))
    return media.image_encode_jpeg(np.hstack([astronaut, hopper]))


def _upload(client, jpeg: bytes, **extra):
    fields = {"subject_name": "Grace Hopper", "subject_email": "grace@example.com", **extra}
    return client.post(
        reverse("portrait-new"), {"image": SimpleUploadedFile("group.jpg", jpeg, content_type="image/jpeg"), **fields}
    )


def test_the_hint_and_the_browser_check_list_the_server_s_formats_and_limit(client, creator, settings):
    settings.CANDOR_MAX_IMAGE_BYTES = 7 * 10**6
    client.force_login(creator)

    page = client.get(reverse("portrait-new")).content.decode()

    assert "A JPEG, PNG or WebP photo of at most 7 MB" in page
    assert 'accept="image/jpeg,image/png,image/webp"' in page
    assert 'data-max-bytes="7000000"' in page


def test_several_faces_are_drawn_for_the_creator_to_pick_and_nothing_is_stored(client, creator, two_people_jpeg):
    client.force_login(creator)

    response = _upload(client, two_people_jpeg)

    page = response.content.decode()
    assert response.status_code == 400
    assert "2 faces were found; choose the one to animate" in page
    assert len(re.findall(r'class="face-box"', page)) == 2
    assert re.findall(r'name="face" value="(\d)"', page) == ["0", "1"]
    assert 'src="data:image/jpeg;base64,' in page
    assert 'value="Grace Hopper"' in page and 'value="grace@example.com"' in page
    assert not Portrait.objects.filter(owner=creator).exists()


def test_the_picked_face_becomes_the_portrait_cropped_to_it(client, creator, two_people_jpeg, grace_hopper):
    client.force_login(creator)

    response = _upload(client, two_people_jpeg, face="1")

    assert response.status_code == 302
    portrait = Portrait.objects.get(owner=creator)
    with portrait.image.open("rb") as handle:
        kept = media.image_decode(handle.read())
    assert kept.shape[1] < 949 / 2  # cropped around the right-hand face, not the whole group
    (face,) = faces.faces_detect(kept)
    alone = faces.face_single(grace_hopper)
    distance = faces.descriptor_distance(np.array(portrait.descriptor), faces.face_descriptor(grace_hopper, alone))
    assert distance < 0.4  # the same person as Grace Hopper's own photo


def test_the_api_takes_the_face_index_and_refuses_a_group_photo_without_it(api, creator, two_people_jpeg):
    def post(**extra):
        image = SimpleUploadedFile("group.jpg", two_people_jpeg, content_type="image/jpeg")
        fields = {"image": image, "subject_name": "Eileen Collins", "subject_email": "eileen@example.com"}
        return api.post(reverse("api-portraits"), {**fields, **extra}, format="multipart")

    refused = post()
    assert refused.status_code == 400 and refused.json()["error"] == "multiple_faces"

    made = post(face=0)
    assert made.status_code == 201
    assert Portrait.objects.get(owner=creator).width < 512 + 1
