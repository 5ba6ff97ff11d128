"""Candor's Ed25519 consent key: it signs audit-log entries and consent receipts; its public half is published."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

KEY_FILE = "consent-ed25519.key.pem"
ALGORITHM = "Ed25519"

_lock = threading.Lock()
_cache: dict[Path, Ed25519PrivateKey] = {}


def signing_key() -> Ed25519PrivateKey:
    """The private key under settings.KEYS_DIR (mode 0600), created on first use by whichever process comes first."""
    path = Path(settings.KEYS_DIR).resolve() / KEY_FILE
    with _lock:
        if path not in _cache:
            if not path.exists():
                _key_create(path)
            _cache[path] = serialization.load_pem_private_key(path.read_bytes(), password=None)  # type: ignore[assignment]  # the key file holds Ed25519
        return _cache[path]


def _key_create(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    staging = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    # Created 0600 and complete before it is linked in: no process ever reads a half-written or world-readable key.
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(staging, path)
        except FileExistsError:
            pass  # another process (web or worker) made the key first; use theirs
    finally:
        staging.unlink(missing_ok=True)


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def public_key_pem() -> str:
    return (
        public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    )


def key_id() -> str:
    """First 16 hex digits of SHA-256 over the raw public key: names the key in receipts and log entries."""
    raw = public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(message: bytes) -> str:
    return base64.b64encode(signing_key().sign(message)).decode()


def signature_valid(message: bytes, signature: str) -> bool:
    try:
        public_key().verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True
