"""Hostile HTTP input: malformed multipart, oversized fields, traversal file names, wrong content types; never a 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from studio.models import Portrait, Render

pytestmark = pytest.mark.django_db

ENDPOINTS = ["/api/portraits/", "/api/renders/", "/api/verify/"]


def _assert_refused(response, *allowed) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:300])
    assert response.status_code in (allowed or (400, 413, 415)), (response.status_code, response.content[:300])
    assert response.json()["error"] and response.json()["detail"]


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\n\xff\xd8',
        ),
        ("multipart/form-data", b"no boundary at all"),
        ("multipart/form-data; boundary=" + "b" * 5000, b"--" + b"b" * 5000),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--xyz--\r\n"),
        ("application/json", b'{"portrait": '),
        ("application/json", b"\xff\xfe\x00garbage"),
        ("application/json", b"[" * 50_000 + b"]" * 50_000),
        ("text/plain", b"portrait=1"),
        ("application/xml", b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a SYSTEM 'file:///etc/passwd'>]><x>&a;</x>"),
        ("application/x-www-form-urlencoded", b"a=1&" * 5000),
    ],
    ids=[
        "truncated-part",
        "no-boundary",
        "huge-boundary",
        "part-without-name",
        "truncated-json",
        "binary-as-json",
        "deep-json",
        "text-plain",
        "xml-entity",
        "too-many-fields",
    ],
)
def test_malformed_bodies_are_refused_without_a_server_error(api, path, content_type, body):
    _assert_refused(api.generic("POST", path, body, content_type=content_type), 400, 413, 415)
    assert not Portrait.objects.exists() and not Render.objects.exists()


def test_oversized_text_fields_are_refused(api, portrait_jpeg):
    response = api.post(
        "/api/portraits/",
        {"subject_name": "A" * 1_000_000, "subject_email": "a@example.com", "image": _file(portrait_jpeg, "a.jpg")},
        format="multipart",
    )
    _assert_refused(response, 400)
    assert "subject_name" in response.json()["detail"], "refused for the name, the photo being valid"
    assert not Portrait.objects.exists()
    huge = api.post(
        "/api/renders/",
        {
            "portrait": "00000000-0000-0000-0000-000000000000",
            "purpose": "marketing",
            "text": "word " * 200_000,
            "language": "en",
        },
        format="multipart",
    )
    _assert_refused(huge)


def test_a_body_over_the_memory_limit_is_refused(api):
    body = b'{"text": "' + b"a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + b'"}'
    _assert_refused(api.generic("POST", "/api/renders/", body, content_type="application/json"), 400, 413)


def test_null_bytes_and_control_characters_are_refused(api, portrait_jpeg):
    response = api.post(
        "/api/portraits/",
        {"subject_name": "Eve\x00lyn", "subject_email": "e@example.com", "image": _file(portrait_jpeg, "p.jpg")},
        format="multipart",
    )
    _assert_refused(response)


@pytest.mark.parametrize(
    "name",
    [
        "../../../../../../tmp/candor-escape.jpg",
        "/etc/cron.d/candor.jpg",
        "..\\..\\windows\\x.jpg",
        "a\x00.php.jpg",
        "x" * 4000 + ".jpg",
    ],
)
def test_uploaded_file_names_never_choose_where_files_go(api, portrait_jpeg, name):
    response = api.post(
        "/api/portraits/",
        {"subject_name": "Eileen", "subject_email": "e@example.com", "image": _file(portrait_jpeg, name)},
        format="multipart",
    )
    assert response.status_code in (201, 400), response.content[:300]
    media = Path(settings.MEDIA_ROOT).resolve()
    for portrait in Portrait.objects.all():
        stored = Path(portrait.image.path).resolve()
        assert media in stored.parents and stored.name == f"{portrait.id}.jpg"
    assert not Path("/tmp/candor-escape.jpg").exists() and not Path("/etc/cron.d/candor.jpg").exists()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("shell.php", b"<?php system($_GET['c']); ?>"),
        ("page.html", b"<html><script>alert(1)</script></html>"),
        ("image.svg", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"),
        ("photo.jpg", b"GIF89a<script>alert(1)</script>"),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 64),
    ],
    ids=["php", "html", "svg", "gif-polyglot", "truncated-jpeg"],
)
def test_files_that_are_not_photos_are_refused_by_content_not_by_name(api, name, data):
    response = api.post(
        "/api/portraits/",
        {"subject_name": "Eileen", "subject_email": "e@example.com", "image": _file(data, name, "image/jpeg")},
        format="multipart",
    )
    _assert_refused(response, 400)
    assert response.json()["error"] == "unsupported_image"
    assert not Portrait.objects.exists()


def test_the_verifier_refuses_what_is_not_a_video(public_api):
    for data in (b"", b"not a video", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100):
        _assert_refused(
            public_api.post("/api/verify/", {"video": _file(data, "clip.mp4", "video/mp4")}, format="multipart"),
            400,
            413,
            415,
        )


def _file(data: bytes, name: str, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)
