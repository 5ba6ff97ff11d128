"""Production settings come from the environment alone: `check --deploy` is clean, secrets may come from files."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from django.conf import settings

# The variables docs/production.md sets (servers need not be up for these checks).
PRODUCTION_ENV = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "candor.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://candor.example.com",
    "CANDOR_PUBLIC_URL": "https://candor.example.com",
    "DATABASE_URL": "postgres://candor:secret@127.0.0.1:5432/candor",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "BEHIND_TLS_PROXY": "1",
}


def _manage(*args: str, env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    clean = {
        key: value for key, value in os.environ.items() if key not in ("DJANGO_SETTINGS_MODULE", "CANDOR_LOCAL_HTTP")
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", "CANDOR_DATA_DIR": str(tmp_path), **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_the_documented_production_settings(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(secrets.token_urlsafe(50))
    result = _manage("check", "--deploy", env={**PRODUCTION_ENV, "SECRET_KEY_FILE": str(key_file)}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # Not even a warning from Django's deployment checklist (security.*); other apps' warnings are theirs to fix.
    assert "(security." not in result.stdout + result.stderr


def test_production_settings_read_secrets_from_files_and_select_the_servers(tmp_path):
    # Web threads keep their PostgreSQL connection by default (a new one per request halves the status throughput).
    key = secrets.token_urlsafe(50)
    (tmp_path / "key").write_text(key + "\n")
    shown = _manage(
        "shell",
        "-c",
        "from django.conf import settings as s; "
        "print(s.SECRET_KEY, s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'], "
        "s.DATABASES['default']['CONN_MAX_AGE'], s.DATABASES['default']['CONN_HEALTH_CHECKS'])",
        env={**PRODUCTION_ENV, "SECRET_KEY_FILE": str(tmp_path / "key"), "CANDOR_RENDER_TIME_LIMIT_S": "600"},
        tmp_path=tmp_path,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip().splitlines()[-1].split() == [
        key,
        "django.db.backends.postgresql",
        "redis://127.0.0.1:6379/0",
        "True",
        "True",
        "True",
        "31536000",
        "1260",
        "60",
        "True",
    ]


def test_a_weak_or_unreadable_secret_stops_the_start(tmp_path):
    weak = _manage("check", env={**PRODUCTION_ENV, "SECRET_KEY": "short"}, tmp_path=tmp_path)
    assert weak.returncode != 0 and "SECRET_KEY must be at least 50 characters" in weak.stderr
    missing = _manage("check", env={**PRODUCTION_ENV, "SECRET_KEY_FILE": str(tmp_path / "nope")}, tmp_path=tmp_path)
    assert missing.returncode != 0 and "SECRET_KEY_FILE" in missing.stderr and "cannot be read" in missing.stderr
