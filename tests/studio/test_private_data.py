"""Secrets stay out of logs and data stays private: no token in any log record, every file under the data directory
0600 and every folder 0700, in this process and in the processes the launcher and manage.py start.
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from config.launcher import children_start
from config.log_redaction import secrets_redact
from consent.models import Consent
from studio import sharing
from studio.services import render_enqueue
from tests.helpers import consent_token_from, upload_portrait

ROOT = Path(__file__).resolve().parents[2]


def _modes(folder: Path) -> dict[str, int]:
    return {str(path): stat.S_IMODE(path.stat().st_mode) for path in [folder, *folder.rglob("*")]}


def test_uploads_the_database_the_outbox_and_the_data_directory_are_private(api, outbox, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    assert api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json").status_code == 201
    assert consent_token_from(outbox)

    data_dir = Path(settings.DATA_DIR)
    written = [
        Path(settings.MEDIA_ROOT) / "portraits" / f"{portrait_id}.jpg",
        Path(connection.settings_dict["NAME"]),
        *Path(settings.EMAIL_FILE_PATH).glob("*.log"),
    ]
    assert all(path.is_file() and data_dir in path.parents for path in written), written
    modes = _modes(data_dir)
    # Certificates are public by design (provenance/keys.py writes them 0644); the 0700 folders above keep them in.
    public = {path for path in modes if path.endswith(".cert.pem")}
    loose = {
        path: oct(mode)
        for path, mode in modes.items()
        if path not in public and mode != (0o700 if Path(path).is_dir() else 0o600)
    }
    assert not loose, loose
    assert modes[str(data_dir)] == 0o700 and all(modes[str(path)] == 0o600 for path in written)


def test_children_the_launcher_starts_and_manage_py_commands_write_private_files(tmp_path):
    umask_file = tmp_path / "umask"
    os.umask(0o022)  # as a login shell leaves it
    try:
        [child] = children_start(
            [[sys.executable, "-c", f"import os; open({str(umask_file)!r}, 'w').write(oct(os.umask(0)))"]]
        )
        assert child.wait(timeout=30) == 0
    finally:
        os.umask(0o077)
    assert umask_file.read_text() == "0o77"

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data_dir.chmod(0o755)  # made open by an older version or by hand: closed at start-up
    written = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.core.files.base import ContentFile; from django.core.files.storage import default_storage; "
            "print(default_storage.path(default_storage.save('videos/x.mp4', ContentFile(b'x'))))",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "CANDOR_DATA_DIR": str(data_dir)},
        preexec_fn=lambda: os.umask(0o022),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    video = Path(written.stdout.strip().splitlines()[-1])
    assert stat.S_IMODE(video.stat().st_mode) == 0o600
    modes = _modes(data_dir)
    assert modes[str(data_dir)] == 0o700
    assert all(mode & 0o077 == 0 for mode in modes.values()), {p: oct(m) for p, m in modes.items()}


@pytest.mark.django_db
def test_no_link_token_reaches_a_log_record(creator, consented_portrait, caplog, settings):
    consent = Consent.objects.get(portrait=consented_portrait)
    render = render_enqueue(
        owner=creator, portrait=consented_portrait, purpose="marketing", text="Hi.", language="en", dispatch=False
    )
    share = sharing.share_link_create(render=render).token
    settings.CANDOR_TOKEN_FAILURES_PER_ADDRESS = 10_000

    caplog.set_level(logging.INFO)
    responses = [
        Client().put(f"/consent/{consent.token}/"),  # 405: "Method Not Allowed (PUT): /consent/<token>/"
        Client().put(f"/api/consent/{consent.token}/"),
        Client().get(f"/watch/{share}/"),  # 403 (not finished): "Forbidden: /watch/<token>/"
        Client().get("/api/portraits/", HTTP_AUTHORIZATION=f"Token {'ab' * 20}"),
    ]
    assert [response.status_code for response in responses] == [405, 405, 403, 401]
    messages = [record.getMessage() for record in caplog.records]
    assert any("/consent/[redacted]/" in message for message in messages), messages
    assert any("/watch/[redacted]/" in message for message in messages), messages
    for secret in (consent.token, share, "ab" * 20):
        assert not any(secret in message for message in messages), (secret, messages)


def test_redaction_keeps_plain_paths_and_cuts_every_kind_of_secret():
    assert secrets_redact("Not Found: /api/portraits/ and /how-candor-works/") == (
        "Not Found: /api/portraits/ and /how-candor-works/"
    )
    assert secrets_redact("GET /renders/compare/?id=4b3c6a2e-1d9f-4c55-9d7e-0f1e2d3c4b5a") == (
        "GET /renders/compare/?id=[redacted]"
    )
    for secret_path in (
        "/password-reset/MQ/[s]/",
        "/api/registry/confirm/[s]/",
        "/registry/remove/[s]/",
        "/consent/revoke/[s]/",
        "/api/consent/erase/[s]/",
    ):
        token = (
            "c4x0yz-0123456789abcdef0123456789ab"
            if "password" in secret_path
            else "Zm9v_YmFy-AbC123xyz456QrStUvWxYz0123456789a"
        )
        assert token not in secrets_redact(secret_path.replace("[s]", token)), secret_path
    assert secrets_redact("Authorization: Token 0123456789abcdef0123456789abcdef01234567") == (
        "Authorization: Token [redacted]"
    )
