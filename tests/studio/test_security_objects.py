"""Object sweep: every URL naming a creator's object answers another creator as for a missing one (404), and anonymous
visitors not at all.
"""

from __future__ import annotations

import re
import secrets
import uuid
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from consent.models import Consent, ConsentEvent, RegistryEntry, RegistryHold
from studio.accounts import creator_token_rotate
from studio.captions import captions_save
from studio.models import ApiToken, Portrait, Render, ShareLink
from studio.services import render_enqueue, render_thumbnail_save
from studio.sharing import share_link_create
from tests.studio.routes import url_fill, url_routes

pytestmark = pytest.mark.django_db

# The routes are read from the URL map, so an endpoint added later is swept without editing this file; a URL argument
# not listed below fails the first test until someone says whether it names a creator's object.
# URL arguments that name an object belonging to one creator: each is filled with the victim's object.
OBJECT_ARGUMENTS = {"portrait_id", "render_id", "hold_id"}
# Capabilities held by someone without an account (the person pictured, a registrant, a viewer of a share link, a
# password reset): guessing them is covered by test_security_tokens.py. A live capture's id counts only under its own
# link's capability (tests/consent/test_live_capture.py test_a_capture_belongs_to_its_own_link).
CAPABILITY_ARGUMENTS = {"token", "revoke_token", "confirm_token", "remove_token", "entry_id", "uidb64", "capture_id"}
# Arguments that are no object at all. A manifest_id is a C2PA manifest's label: the manifest is a public statement,
# embedded in every copy of the video that kept it, and the repository serves it to anyone. seq numbers a live
# capture's chunks. A voice is one of the synthesizer's voices (its sample is the same for every creator).
PLAIN_ARGUMENTS = {"language", "manifest_id", "seq", "voice"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MODELS = (Portrait, Render, Consent, ConsentEvent, RegistryHold, RegistryEntry, ApiToken, ShareLink)


def _object_routes() -> list[str]:
    return [route for route, arguments in url_routes() if arguments & OBJECT_ARGUMENTS]


def test_every_url_argument_is_known_to_be_an_object_a_capability_or_neither():
    unknown = (
        {argument for _, arguments in url_routes() for argument in arguments}
        - OBJECT_ARGUMENTS
        - CAPABILITY_ARGUMENTS
        - PLAIN_ARGUMENTS
    )
    assert not unknown, (
        f"new URL arguments {unknown}: add them to OBJECT_ARGUMENTS (swept here) or CAPABILITY_ARGUMENTS (token tests)"
    )
    assert len(_object_routes()) >= 12, _object_routes()


@pytest.fixture
def victim_objects(creator, consented_portrait) -> dict[str, str]:
    """The first creator's portrait, a finished render with its video, thumbnail, captions and a share link, and an
    upload held
    for review.
    """
    render = render_enqueue(
        owner=creator,
        portrait=consented_portrait,
        purpose="marketing",
        text="Hello there.",
        language="en",
        dispatch=False,
    )
    render.video.save(f"{render.id}.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64), save=False)
    thumbnail = render_thumbnail_save(render=render, frame=np.full((64, 64, 3), 128, np.uint8))
    Render.objects.filter(id=render.id).update(
        status=Render.Status.DONE,
        progress=1.0,
        video=render.video.name,
        thumbnail=thumbnail,
        finished_at=timezone.now(),
    )
    captions_save(render_id=render.id, words=[(0.0, 0.5, "Hello"), (0.5, 1.0, "there.")])
    share_link_create(render=render)
    entry = RegistryEntry.objects.create(
        email="r@example.com",
        status=RegistryEntry.Status.ACTIVE,
        descriptor=[0.0] * 128,
        confirm_token=secrets.token_urlsafe(32),
    )
    hold = RegistryHold(
        owner=creator, entry=entry, distance=0.5, subject_name="Eileen", subject_email="eileen@example.com"
    )
    hold.image.save(f"{hold.id}.jpg", ContentFile(b"\xff\xd8held"), save=False)
    hold.save()
    return {"portrait_id": str(consented_portrait.id), "render_id": str(render.id), "hold_id": str(hold.id)}


def _call(client: Client, method: str, url: str):
    response = client.generic(method, url, b"{}" if method != "GET" else b"", content_type="application/json")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, body


def _state() -> tuple:
    media = Path(settings.MEDIA_ROOT)
    files = sorted(
        (str(path.relative_to(media)), path.stat().st_size, path.stat().st_mtime_ns)
        for path in media.rglob("*")
        if path.is_file()
    )
    rows = [list(model.objects.order_by("pk").values()) for model in MODELS]
    return files, rows


def _session(user) -> Client:
    session = Client()
    session.force_login(user)
    return session


def _intruders(other_creator) -> list[tuple[str, Client]]:
    token = Client(HTTP_AUTHORIZATION=f"Token {creator_token_rotate(user=other_creator)}")
    return [("session", _session(other_creator)), ("token", token)]


def test_another_creator_gets_exactly_the_answer_for_a_missing_object_and_changes_nothing(
    victim_objects, other_creator
):
    intruders = _intruders(other_creator)
    before = _state()
    missing = {name: str(uuid.uuid4()) for name in OBJECT_ARGUMENTS}
    for route in _object_routes():
        for label, intruder in intruders:
            if label == "token" and not route.startswith("api/"):
                continue  # pages take no API token
            for method in METHODS:
                real_url, missing_url = url_fill(route, victim_objects), url_fill(route, missing)
                status, body = _call(intruder, method, real_url)
                expected_status, expected_body = _call(intruder, method, missing_url)
                assert status in (404, 405), (label, method, real_url, status, body[:200])
                assert (status, _masked(body, victim_objects)) == (expected_status, _masked(expected_body, missing)), (
                    label,
                    method,
                    real_url,
                )
    assert _state() == before


def test_query_and_body_ids_of_another_creator_are_not_found_either(victim_objects, other_creator, other_api):
    page = _session(other_creator)
    before = _state()
    compared = page.get(f"/renders/compare/?id={victim_objects['render_id']}")
    assert compared.status_code == 404 or b"Hello there." not in compared.content
    body = {"portrait": victim_objects["portrait_id"], "purpose": "marketing", "text": "Hi.", "language": "en"}
    assert other_api.post("/api/renders/", body, format="json").status_code == 404
    assert page.get(f"/renders/new/?portrait={victim_objects['portrait_id']}").content.count(b"Eileen") == 0
    assert _state() == before


def test_anonymous_visitors_are_sent_to_log_in_or_refused(victim_objects):
    before = _state()
    for route in _object_routes():
        for method in METHODS:
            url = url_fill(route, victim_objects)
            status, body = _call(Client(), method, url)
            if route.startswith("api/"):
                assert status == 401, (method, url, status)
            else:
                assert status in (302, 405), (method, url, status)
    assert _state() == before


def test_the_owner_reaches_every_swept_object(victim_objects, creator):
    owner = Client()
    owner.force_login(creator)
    for route in _object_routes():
        url = url_fill(route, victim_objects)
        status, body = _call(owner, "GET", url)
        assert status != 404, (url, body[:200])


def _masked(body: bytes, values: dict[str, str]) -> bytes:
    """The body without the ids asked for and the CSRF token (masked afresh in every page)."""
    for value in values.values():
        body = body.replace(value.encode(), b"<id>")
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"<csrf>", body)
