"""Web hardening: CSRF on every form, secure headers and cookies in production, uploads never served raw, private files,
no
SSRF, size caps.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from studio.models import Portrait, Render
from tests.helpers import upload_portrait
from tests.production.test_deploy_settings import PRODUCTION_ENV
from tests.studio.routes import url_fill, url_routes

pytestmark = pytest.mark.django_db


def test_every_page_refuses_a_post_without_the_csrf_token(creator, consented_portrait):
    logged_in = Client(enforce_csrf_checks=True)
    logged_in.force_login(creator)
    values = {
        "portrait_id": str(consented_portrait.id),
        "render_id": str(uuid.uuid4()),
        "hold_id": str(uuid.uuid4()),
        "entry_id": str(uuid.uuid4()),
        "language": "en",
        "uidb64": "MQ",
        "token": secrets.token_urlsafe(32),
    }
    pages = [route for route, _ in url_routes() if not route.startswith("api/")]
    assert len(pages) >= 25
    for route in [*pages, "admin/login/"]:
        url = url_fill(route, values, default=lambda: secrets.token_urlsafe(32))
        for client in (logged_in, Client(enforce_csrf_checks=True)):
            response = client.post(
                url, {"username": "ada", "password": "x-secret-1", "decision": "decline", "action": "erase"}
            )
            assert response.status_code == 403 and b"CSRF" in response.content, (url, response.status_code)


def test_the_api_refuses_a_session_post_without_the_csrf_token(creator, portrait_jpeg):
    browser_session = Client(enforce_csrf_checks=True)
    browser_session.force_login(creator)
    response = upload_portrait(browser_session, portrait_jpeg)
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert not Portrait.objects.exists()


# Run in a fresh process with the production environment (SQLite and a local cache instead of the servers).
_PRODUCTION_PROBE = """
import json
from django.core.management import call_command
from django.contrib.auth import get_user_model
from django.test import Client
call_command("migrate", verbosity=0)
get_user_model().objects.create_user(username="ada", password="x-secret-1")
client = Client(HTTP_HOST="candor.example.com")
plain = client.get("/login/")
page = client.get("/login/", secure=True)
login = client.post("/login/", {"username": "ada", "password": "x-secret-1"}, secure=True)
cookies = {name: {key: str(morsel[key]) for key in ("secure", "httponly", "samesite")} for name, morsel in
client.cookies.items()}
print(json.dumps({"plain": [plain.status_code, plain.get("Location")], "headers": dict(page.headers), "login":
login.status_code, "cookies": cookies}))
"""


def test_production_settings_send_secure_headers_and_cookies(tmp_path):
    key = tmp_path / "secret_key"
    key.write_text(secrets.token_urlsafe(50))
    environment = {
        key_: value for key_, value in os.environ.items() if key_ not in ("DJANGO_SETTINGS_MODULE", "CANDOR_LOCAL_HTTP")
    }
    environment.update(
        PRODUCTION_ENV,
        DJANGO_SETTINGS_MODULE="config.settings",
        CANDOR_DATA_DIR=str(tmp_path),
        SECRET_KEY_FILE=str(key),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CACHE_URL="",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", _PRODUCTION_PROBE],
        env=environment,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])

    assert seen["plain"] == [301, "https://candor.example.com/login/"]
    headers = seen["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert seen["login"] == 302
    assert seen["cookies"]["sessionid"] == {"secure": "True", "httponly": "True", "samesite": "Lax"}
    assert seen["cookies"]["csrftoken"]["secure"] == "True" and seen["cookies"]["csrftoken"]["samesite"] == "Lax"


def test_uploads_are_never_reachable_by_their_storage_path(api, creator, portrait_jpeg):
    portrait = Portrait.objects.get(id=upload_portrait(api, portrait_jpeg).json()["id"])
    owner = Client()
    owner.force_login(creator)
    for path in (
        f"/media/{portrait.image.name}",
        f"/{portrait.image.name}",
        f"/static/../media/{portrait.image.name}",
        f"/static/{Path(settings.MEDIA_ROOT).relative_to(settings.DATA_DIR)}/{portrait.image.name}",
    ):
        assert owner.get(path).status_code == 404, path


def test_stored_files_are_served_only_as_their_checked_type_and_never_sniffed(api, creator, portrait_jpeg):
    html_named = SimpleUploadedFile("page.html", portrait_jpeg, content_type="text/html")
    response = api.post(
        "/api/portraits/",
        {"image": html_named, "subject_name": "Eileen", "subject_email": "e@example.com"},
        format="multipart",
    )
    assert response.status_code == 201
    portrait = Portrait.objects.get()
    assert portrait.image.name == f"portraits/{portrait.id}.jpg"
    owner = Client()
    owner.force_login(creator)
    served = owner.get(f"/portraits/{portrait.id}/image/")
    assert served["Content-Type"] == "image/jpeg" and served["X-Content-Type-Options"] == "nosniff"
    assert "page.html" not in served.get("Content-Disposition", ""), "the uploader's file name is never echoed back"


def test_secrets_and_uploads_are_not_readable_by_other_users_of_the_machine(api, portrait_jpeg):
    from consent import signing

    signing.sign(b"make the key")
    assert stat.S_IMODE((Path(settings.DATA_DIR) / "secret_key").stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(settings.KEYS_DIR).stat().st_mode) & 0o077 == 0
    portrait = Portrait.objects.get(id=upload_portrait(api, portrait_jpeg).json()["id"])
    assert stat.S_IMODE(Path(portrait.image.path).stat().st_mode) & 0o007 == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:6379/",
        "http://localhost:8000/watch/abc/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_FLUSHALL",
        "//evil.example/watch/abc/",
        "{public}@evil.example/watch/abc/",
        "{public}.evil.example/watch/abc/",
        "{public}/watch/../../../../etc/passwd",
        "{public}/media/portraits/x.jpg",
        "{public}/api/renders/00000000-0000-0000-0000-000000000000/video/?next=http://169.254.169.254/",
    ],
)
def test_the_verifier_never_fetches_a_pasted_link(public_api, monkeypatch, url):
    attempts = []

    def refuse(self, address):
        attempts.append(address)
        raise OSError("the network is closed in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    response = public_api.post("/api/verify/", {"url": url.format(public=settings.CANDOR_PUBLIC_URL)}, format="json")
    assert response.status_code in (400, 404) and response.json()["error"] in (
        "foreign_url",
        "invalid_url",
        "not_found",
    )
    assert attempts == []


def test_uploads_over_the_size_caps_are_refused_with_413(api, settings, portrait_jpeg, consented_portrait):
    settings.CANDOR_MAX_IMAGE_BYTES = len(portrait_jpeg) - 1
    too_big = upload_portrait(api, portrait_jpeg)
    assert too_big.status_code == 413 and too_big.json()["error"] == "too_large"
    settings.CANDOR_MAX_AUDIO_BYTES = 1000
    audio = SimpleUploadedFile("speech.wav", b"RIFF" + b"\x00" * 2000, content_type="audio/wav")
    response = api.post(
        "/api/renders/",
        {"portrait": str(consented_portrait.id), "purpose": "marketing", "audio": audio},
        format="multipart",
    )
    assert response.status_code == 413 and response.json()["error"] == "too_large"
    assert Portrait.objects.count() == 1 and not Render.objects.exists()
