"""Tests for Candor's on-disk signing material and secrets."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from provenance import keys
from provenance.keys import secret_load_or_create, secret_rotate, secrets_retired, signing_material_load_or_create


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _fresh_load(keys_dir: Path) -> keys.SigningMaterial:
    # Drop the per-directory cache so the second load really reads the files.
    keys._cache.clear()
    return signing_material_load_or_create(keys_dir)


def test_signing_material_is_created_once_and_reused_from_disk(tmp_path):
    keys_dir = tmp_path / "keys"
    first = _fresh_load(keys_dir)
    files_after_first = {path.name: path.read_bytes() for path in keys_dir.iterdir()}

    second = _fresh_load(keys_dir)

    assert second == first
    assert {path.name: path.read_bytes() for path in keys_dir.iterdir()} == files_after_first


def test_different_directories_get_different_keys(tmp_path):
    assert _fresh_load(tmp_path / "a").key_id != _fresh_load(tmp_path / "b").key_id


def test_private_keys_are_owner_only_and_certificates_world_readable(tmp_path):
    keys_dir = tmp_path / "keys"
    _fresh_load(keys_dir)

    assert _mode(keys_dir) == 0o700
    assert _mode(keys_dir / keys.SIGNING_KEY_FILE) == 0o600
    assert _mode(keys_dir / keys.ROOT_KEY_FILE) == 0o600
    assert _mode(keys_dir / keys.SIGNING_CERT_FILE) == 0o644
    assert _mode(keys_dir / keys.ROOT_CERT_FILE) == 0o644
    assert not [path for path in keys_dir.iterdir() if path.name.endswith(".tmp")]


def test_key_id_is_a_short_fingerprint_of_the_signing_public_key(tmp_path):
    material = _fresh_load(tmp_path / "keys")
    public_der = (
        x509.load_pem_x509_certificate(material.certificate_chain_pem)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    assert material.key_id == hashlib.sha256(public_der).hexdigest()[:16]


def test_signing_certificate_is_an_es256_leaf_issued_by_candors_root(tmp_path):
    material = _fresh_load(tmp_path / "keys")
    leaf = x509.load_pem_x509_certificate(material.certificate_chain_pem)
    root = x509.load_pem_x509_certificate(material.root_certificate_pem)
    private_key = serialization.load_pem_private_key(material.private_key_pem, None)

    leaf.verify_directly_issued_by(root)
    assert private_key.public_key().public_numbers() == leaf.public_key().public_numbers()
    assert private_key.curve.name == "secp256r1"
    assert leaf.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)[0].value == "Candor"
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    usages = set(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert {ExtendedKeyUsageOID.EMAIL_PROTECTION, keys.DOCUMENT_SIGNING_OID} <= usages
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert (root.not_valid_after_utc - root.not_valid_before_utc).days > 365 * 19


def test_chain_leaves_the_root_out(tmp_path):
    material = _fresh_load(tmp_path / "keys")
    chain = x509.load_pem_x509_certificates(material.certificate_chain_pem)

    assert material.root_certificate_pem.strip() not in material.certificate_chain_pem
    assert all(cert.subject != cert.issuer for cert in chain)


def test_secret_is_created_once_with_owner_only_permissions(tmp_path):
    keys_dir = tmp_path / "keys"
    first = secret_load_or_create(keys_dir, "watermark")

    assert len(first) == 32
    assert secret_load_or_create(keys_dir, "watermark") == first
    assert _mode(keys_dir / "watermark.key") == 0o600
    assert secret_load_or_create(keys_dir, "other", n_bytes=16) != first[:16]
    assert len(secret_load_or_create(keys_dir, "other", n_bytes=16)) == 16


def test_a_rotated_secret_is_replaced_and_the_old_one_kept_owner_only(tmp_path):
    keys_dir = tmp_path / "keys"
    first = secret_load_or_create(keys_dir, "watermark")

    second = secret_rotate(keys_dir, "watermark")
    third = secret_rotate(keys_dir, "watermark")

    assert len({first, second, third}) == 3
    assert secret_load_or_create(keys_dir, "watermark") == third
    assert secrets_retired(keys_dir, "watermark") == [second, first]
    assert all(_mode(path) == 0o600 for path in (keys_dir / keys.RETIRED_DIR).glob("watermark-*.key"))
