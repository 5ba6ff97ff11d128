"""The one interface every C2PA signature goes through: a local key file today, an HSM or cloud KMS by the same
shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .keys import SigningMaterial


class ContentSigner(Protocol):
    """Signs C2PA claims with ES256; the private key never has to leave wherever it lives."""

    key_id: str
    # End-entity certificate first, then intermediates; never the root.
    certificate_chain_pem: bytes

    def sign(self, data: bytes) -> bytes:
        """An ECDSA P-256 / SHA-256 signature over data (DER or raw r||s)."""
        ...


@dataclass(frozen=True)
class LocalKeySigner:
    """Signs with the PEM key stored 0600 in Candor's keys directory."""

    key_id: str
    certificate_chain_pem: bytes
    private_key_pem: bytes = field(repr=False)

    def sign(self, data: bytes) -> bytes:
        key = serialization.load_pem_private_key(self.private_key_pem, None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError("Candor signs with an EC P-256 key")
        return key.sign(data, ec.ECDSA(hashes.SHA256()))


def local_signer(material: SigningMaterial) -> LocalKeySigner:
    return LocalKeySigner(
        key_id=material.key_id,
        certificate_chain_pem=material.certificate_chain_pem,
        private_key_pem=material.private_key_pem,
    )
