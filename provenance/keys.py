"""Candor's own signing keys and secrets, created once on first use and kept on disk."""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
import secrets
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT_KEY_FILE = "root-ca.key.pem"
ROOT_CERT_FILE = "root-ca.cert.pem"
SIGNING_KEY_FILE = "signing.key.pem"
SIGNING_CERT_FILE = "signing.cert.pem"
LOCK_FILE = ".lock"

RETIRED_DIR = "retired"

# Candor signs without a timestamp authority, and a C2PA manifest stops
# validating once its signing certificate expires. So a signing certificate
# lives ten years (how long a video's manifest keeps validating), while its key
# is used for new videos only until the next rotation (yearly in production,
# `signing_material_rotate`). The root outlives every signing certificate it
# issues. Past ten years a video is still recognized through its watermark.
ROOT_LIFETIME = datetime.timedelta(days=365 * 25)
SIGNING_LIFETIME = datetime.timedelta(days=365 * 10)
# Backdating absorbs clock skew between the signing host and verifiers.
BACKDATE = datetime.timedelta(hours=1)

# id-kp-documentSigning (RFC 9336); cryptography has no named constant for it.
DOCUMENT_SIGNING_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
ROOT_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Candor"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Candor Root CA"),
    ]
)

PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644
DIR_MODE = 0o700


@dataclass(frozen=True)
class SigningMaterial:
    key_id: str
    private_key_pem: bytes
    # End-entity certificate, then any intermediate CA. Candor's root issues the
    # end-entity certificate directly, so today this is that one certificate;
    # the root always stays out because verifiers must take it from their trust list.
    certificate_chain_pem: bytes
    root_certificate_pem: bytes


_cache: dict[Path, tuple[int | None, SigningMaterial]] = {}
_lock = threading.Lock()


def signing_material_load_or_create(keys_dir: Path) -> SigningMaterial:
    """Return the signing material in keys_dir, creating a root CA and signing cert on first use."""
    directory = Path(keys_dir).resolve()
    with _lock:
        cached = _cache.get(directory)
        # A rotation in another process replaces the certificate file; its
        # modification time tells this process to load the new key.
        if cached is not None and cached[0] == _certificate_stamp(directory=directory):
            return cached[1]
        _directory_ensure(directory=directory)
        with _directory_lock(directory=directory):
            if not (directory / SIGNING_CERT_FILE).exists():
                _material_create(directory=directory)
            material = _material_load(directory=directory)
            _cache[directory] = (_certificate_stamp(directory=directory), material)
        return material


def _certificate_stamp(*, directory: Path) -> int | None:
    try:
        return (directory / SIGNING_CERT_FILE).stat().st_mtime_ns
    except FileNotFoundError:
        return None


def secret_load_or_create(keys_dir: Path, name: str, *, n_bytes: int = 32) -> bytes:
    """Return the random secret `<name>.key` in keys_dir, creating it on first use."""
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"invalid secret name: {name!r}")
    directory = Path(keys_dir).resolve()
    path = directory / f"{name}.key"
    with _lock:
        _directory_ensure(directory=directory)
        with _directory_lock(directory=directory):
            if not path.exists():
                _file_write_atomic(path=path, data=secrets.token_bytes(n_bytes), mode=PRIVATE_MODE)
            return path.read_bytes()


def secret_rotate(keys_dir: Path, name: str, *, n_bytes: int = 32) -> bytes:
    """Replace the secret `<name>.key` with a new one, keeping the old under retired/ so old marks still read."""
    current = secret_load_or_create(keys_dir, name, n_bytes=n_bytes)
    directory = Path(keys_dir).resolve()
    with _lock, _directory_lock(directory=directory):
        retired = directory / RETIRED_DIR
        retired.mkdir(mode=DIR_MODE, exist_ok=True)
        index = len(list(retired.glob(f"{name}-*.key"))) + 1
        _file_write_atomic(path=retired / f"{name}-{index:03d}.key", data=current, mode=PRIVATE_MODE)
        fresh = secrets.token_bytes(n_bytes)
        _file_write_atomic(path=directory / f"{name}.key", data=fresh, mode=PRIVATE_MODE)
        return fresh


def secrets_retired(keys_dir: Path, name: str) -> list[bytes]:
    """Rotated-out values of the secret `<name>`, newest first."""
    retired = Path(keys_dir).resolve() / RETIRED_DIR
    return (
        [path.read_bytes() for path in sorted(retired.glob(f"{name}-*.key"), reverse=True)] if retired.is_dir() else []
    )


def _directory_ensure(*, directory: Path) -> None:
    directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)


@contextlib.contextmanager
def _directory_lock(*, directory: Path) -> Iterator[None]:
    # The web server and the render workers are separate processes that may all
    # start cold; without a file lock two of them could each write half a key set.
    with open(directory / LOCK_FILE, "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _material_create(*, directory: Path) -> None:
    now = datetime.datetime.now(datetime.UTC) - BACKDATE
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_cert = (
        x509.CertificateBuilder()
        .subject_name(ROOT_NAME)
        .issuer_name(ROOT_NAME)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + ROOT_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    _file_write_atomic(path=directory / ROOT_KEY_FILE, data=_private_key_pem(key=root_key), mode=PRIVATE_MODE)
    _file_write_atomic(
        path=directory / ROOT_CERT_FILE, data=root_cert.public_bytes(serialization.Encoding.PEM), mode=PUBLIC_MODE
    )
    _signing_create(directory=directory, root_key=root_key)


def _signing_create(*, directory: Path, root_key: ec.EllipticCurvePrivateKey) -> None:
    now = datetime.datetime.now(datetime.UTC) - BACKDATE
    signing_key = ec.generate_private_key(ec.SECP256R1())
    signing_cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Candor"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "Candor Content Credentials"),
                ]
            )
        )
        .issuer_name(ROOT_NAME)
        .public_key(signing_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + SIGNING_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        # c2pa's default trust config only accepts emailProtection among these;
        # documentSigning is what the C2PA spec names for content credentials.
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING_OID]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signing_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    # The key first and the signing certificate last: its presence is what marks
    # the material as complete, so a crash part-way leads to a clean redo.
    _file_write_atomic(path=directory / SIGNING_KEY_FILE, data=_private_key_pem(key=signing_key), mode=PRIVATE_MODE)
    _file_write_atomic(
        path=directory / SIGNING_CERT_FILE,
        data=signing_cert.public_bytes(serialization.Encoding.PEM),
        mode=PUBLIC_MODE,
    )


def signing_material_rotate(keys_dir: Path) -> SigningMaterial:
    """Retire the current signing key (its certificate is kept under retired/) and issue a new one from the same root.

    Videos signed before keep validating: their manifests carry the old certificate,
    which chains to the unchanged root until it expires (see SIGNING_LIFETIME).
    """
    directory = Path(keys_dir).resolve()
    signing_material_load_or_create(directory)
    with _lock:
        with _directory_lock(directory=directory):
            retiring = _material_load(directory=directory)
            retired = directory / RETIRED_DIR
            retired.mkdir(mode=DIR_MODE, exist_ok=True)
            _file_write_atomic(
                path=retired / f"{retiring.key_id}.cert.pem", data=retiring.certificate_chain_pem, mode=PUBLIC_MODE
            )
            root_key = serialization.load_pem_private_key((directory / ROOT_KEY_FILE).read_bytes(), None)
            _signing_create(directory=directory, root_key=root_key)  # type: ignore[arg-type]  # the root key is EC
            material = _material_load(directory=directory)
            _cache[directory] = (_certificate_stamp(directory=directory), material)
        return material


def retired_certificates(keys_dir: Path) -> dict[str, bytes]:
    """Certificates of rotated-out signing keys, by key id."""
    retired = Path(keys_dir).resolve() / RETIRED_DIR
    if not retired.is_dir():
        return {}
    return {path.name.removesuffix(".cert.pem"): path.read_bytes() for path in sorted(retired.glob("*.cert.pem"))}


def _material_load(*, directory: Path) -> SigningMaterial:
    signing_cert_pem = (directory / SIGNING_CERT_FILE).read_bytes()
    root_cert_pem = (directory / ROOT_CERT_FILE).read_bytes()
    signing_cert = x509.load_pem_x509_certificate(signing_cert_pem)
    return SigningMaterial(
        key_id=_key_id(certificate=signing_cert),
        private_key_pem=(directory / SIGNING_KEY_FILE).read_bytes(),
        certificate_chain_pem=signing_cert_pem,
        root_certificate_pem=root_cert_pem,
    )


def _key_id(*, certificate: x509.Certificate) -> str:
    public_der = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(public_der)
    return digest.finalize().hex()[:16]


def _private_key_pem(*, key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _file_write_atomic(*, path: Path, data: bytes, mode: int) -> None:
    # mkstemp creates the file 0600, so a private key is never readable by others
    # even for the moment before the final chmod.
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
