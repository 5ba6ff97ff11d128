"""Test override of the settings: its own data directory, fast password hashing, a generous verifier rate."""

import os
import tempfile
from pathlib import Path

# A fresh data directory per test run, so that concurrent runs never share a database or queue.
_runs = Path(__file__).resolve().parent.parent / "var" / "test-runs"
_runs.mkdir(parents=True, exist_ok=True)
os.environ.setdefault("CANDOR_DATA_DIR", tempfile.mkdtemp(prefix="run-", dir=_runs))
# Under pytest-xdist each worker process gets its own folder inside the run's (its own database, queue, outbox and
# cache); the Celery workers a test starts inherit the variable, so they follow their test's worker.
if (_xdist_worker := os.environ.get("PYTEST_XDIST_WORKER")) and not os.environ.get("CANDOR_XDIST_DATA_DIR"):
    os.environ["CANDOR_DATA_DIR"] = os.environ["CANDOR_XDIST_DATA_DIR"] = str(
        Path(os.environ["CANDOR_DATA_DIR"]) / _xdist_worker
    )

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
CANDOR_VERIFY_RATE = "1000/minute"
# Test-only: fix the live capture's prompt schedule, and a recorded file's challenge, so that a prepared clip answers
# them (tests set them; production settings never define or read them).
CANDOR_CAPTURE_SCHEDULE_SEED: int | None = None
CANDOR_CHALLENGE_SEED: int | None = None

# One fixed watermark key for every test run (never outside tests: production keys are random, made on first use).
# The watermark changes pixels a little, so with a key drawn per run the content tracks' measured distances moved by
# about 0.01 between runs; tests that bracket a threshold from both sides need the same file to measure the same.
_test_keys = KEYS_DIR  # noqa: F405
_test_keys.mkdir(mode=0o700, parents=True, exist_ok=True)
if not (_test_keys / "watermark.key").exists():
    (_test_keys / "watermark.key").write_bytes(bytes(range(32)))
    (_test_keys / "watermark.key").chmod(0o600)
