"""Test override of the settings: its own data directory, fast password hashing, a generous verifier rate."""

import os
from pathlib import Path

os.environ.setdefault("CANDOR_DATA_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
CANDOR_VERIFY_RATE = "1000/minute"
