"""Test override of the settings: its own data directory, fast password hashing, a generous verifier rate."""

import os
import tempfile
from pathlib import Path

# A fresh data directory per test run, so that concurrent runs never share a database or queue.
_runs = Path(__file__).resolve().parent.parent / "var" / "test-runs"
_runs.mkdir(parents=True, exist_ok=True)
os.environ.setdefault("CANDOR_DATA_DIR", tempfile.mkdtemp(prefix="run-", dir=_runs))

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
CANDOR_VERIFY_RATE = "1000/minute"
