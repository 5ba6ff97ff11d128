"""Management commands: issue_token's contract and the configuration checks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def _issue_token(*args) -> list[str]:
    from io import StringIO

    out = StringIO()
    call_command("issue_token", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_issue_token_creates_once_and_prints_the_token_last(client):
    first = _issue_token("grace", "--create", "--email", "grace@example.com")
    again = _issue_token("grace", "--create")
    assert first[-1] == again[-1] and len(first[-1]) == 40
    assert len(again) == 1, "an existing creator just gets their token"
    response = client.get("/api/renders/", HTTP_AUTHORIZATION=f"Token {first[-1]}")
    assert response.status_code == 200 and response.json()["count"] == 0


def test_issue_token_refuses_an_unknown_creator_without_create():
    with pytest.raises(CommandError, match="no creator named"):
        _issue_token("nobody")


def test_deploy_check_is_clean_with_debug_off(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": "k" * 20 + "A9b$" * 10,
        "ALLOWED_HOSTS": "candor.example",
        "CANDOR_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_bad_boolean_setting_fails_loudly(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "maybe",
        "CANDOR_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "DEBUG='maybe' is not a boolean" in result.stderr


def test_the_engine_never_imports_django():
    code = (
        "import sys, inference.animation, inference.speech, inference.media, inference.faces; print('django' in "
        "sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/renders/" in schema.content
    assert client.get("/api/docs/").status_code == 200
