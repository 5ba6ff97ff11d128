"""Management commands: issue_token's contract and the configuration checks."""

from __future__ import annotations

import hashlib
import importlib
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

pytestmark = pytest.mark.django_db


def _issue_token(*args) -> list[str]:
    out = StringIO()
    call_command("issue_token", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_issue_token_prints_a_token_once_and_stores_only_its_keyed_hash(client):
    from studio.models import ApiToken

    first = _issue_token("grace", "--create", "--email", "grace@example.com")
    token = first[-1]
    assert len(token) == 40 and int(token, 16), "160 random bits"
    stored = ApiToken.objects.get(user__username="grace")
    assert token not in stored.digest and stored.digest != hashlib.sha256(token.encode()).hexdigest(), "keyed, not bare"
    with connection.cursor() as cursor:
        for table in ("studio_apitoken", "authtoken_token"):
            cursor.execute(f"SELECT * FROM {table}")
            assert not any(token in str(value) for row in cursor.fetchall() for value in row), table

    with pytest.raises(CommandError, match="cannot be shown again"):
        _issue_token("grace", "--create")
    response = client.get("/api/renders/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200 and response.json()["count"] == 0

    rotated = _issue_token("grace", "--rotate")
    assert len(rotated) == 1 and rotated[-1] != token
    assert client.get("/api/renders/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 401
    assert client.get("/api/renders/", HTTP_AUTHORIZATION=f"Token {rotated[-1]}").status_code == 200


def test_plaintext_tokens_of_before_are_hashed_by_the_migration_and_keep_working(creator, client):
    from django.apps import apps
    from rest_framework.authtoken.models import Token

    from studio.models import ApiToken

    migration = importlib.import_module("studio.migrations.0006_api_tokens_hashed")
    old_key = Token.objects.create(user=creator).key  # what a client of the previous version holds

    migration.api_tokens_hash(apps, None)

    assert not Token.objects.exists(), "no plaintext left"
    assert ApiToken.objects.get(user=creator).digest != old_key
    response = client.get("/api/portraits/", HTTP_AUTHORIZATION=f"Token {old_key}")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("local_http", "host", "public_url"),
    [
        ("0", "127.0.0.1", "http://127.0.0.1:8000"),
        ("1", "0.0.0.0", "http://127.0.0.1:8000"),
        ("1", "203.0.113.7", "http://127.0.0.1:8000"),
        ("1", "127.0.0.1", "https://candor.example"),
    ],
)
def test_no_demo_account_unless_plain_http_on_loopback(settings, monkeypatch, local_http, host, public_url):
    from django.contrib.auth import get_user_model

    settings.LOCAL_HTTP = local_http == "1"
    settings.CANDOR_PUBLIC_URL = public_url
    monkeypatch.setenv("CANDOR_HOST", host)
    out = StringIO()
    call_command("demo_account", stdout=out)
    assert out.getvalue().startswith("No demo account:"), out.getvalue()
    assert not get_user_model().objects.filter(username="demo").exists()


def test_the_demo_account_on_loopback_signs_in_and_gets_a_working_token(settings, monkeypatch, client):
    settings.LOCAL_HTTP = True
    settings.CANDOR_PUBLIC_URL = "http://localhost:8000"
    monkeypatch.setenv("CANDOR_HOST", "127.0.0.1")
    out = StringIO()
    call_command("demo_account", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    assert client.get("/api/renders/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    assert client.login(username="demo", password="candor-demo")


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
