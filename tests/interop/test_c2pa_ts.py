"""A second, independent C2PA implementation (@trustnxt/c2pa-ts) agrees with c2pa-python on Candor's signed MP4s."""

from __future__ import annotations

from provenance.c2pa_manifest import Ingredient, SoftBinding, mp4_read_manifest, mp4_sign
from provenance.keys import signing_material_load_or_create
from provenance.signer import local_signer
from provenance.watermark import ALGORITHM
from tests.provenance.mp4_boxes import top_level_box


def _candor_signed(*, source, destination, material):
    mp4_sign(
        source=source,
        destination=destination,
        signer=local_signer(material),
        trust_anchor_pem=material.root_certificate_pem,
        render_id="5b0f7c2e-8d1a-4c55-9d7e-0a1b2c3d4e5f",
        title="Candor render",
        generator_version="0.1.0",
        consent_summary={"consent_id": "c-1", "purposes": ["marketing"]},
        ingredient=Ingredient(title="source portrait", relationship="parentOf", sha256="ab" * 32),
        soft_binding=SoftBinding(algorithm=ALGORITHM, payload_hex="0123456789abcdef"),
        edits=("c2pa.edited",),
    )
    return destination


def test_a_candor_signed_mp4_is_valid_in_both_implementations(tmp_path, sample_mp4, c2pa_ts):
    material = signing_material_load_or_create(tmp_path / "keys")
    signed = _candor_signed(source=sample_mp4, destination=tmp_path / "signed.mp4", material=material)

    other = c2pa_ts.validate(signed)

    assert other.is_valid, other.failure
    assert "claimSignature.validated" in other.success
    assert "assertion.bmffHash.match" in other.success
    assert other.failure == ()
    assert mp4_read_manifest(path=signed, root_certificate_pem=material.root_certificate_pem).trusted


def test_a_flipped_mdat_byte_is_a_hash_mismatch_in_both_implementations(tmp_path, sample_mp4, c2pa_ts):
    material = signing_material_load_or_create(tmp_path / "keys")
    signed = _candor_signed(source=sample_mp4, destination=tmp_path / "signed.mp4", material=material)
    data = bytearray(signed.read_bytes())
    start, size = top_level_box(bytes(data), b"mdat")
    data[start + size // 2] ^= 0xFF
    signed.write_bytes(bytes(data))

    other = c2pa_ts.validate(signed)

    assert not other.is_valid
    assert other.failure == ("assertion.bmffHash.mismatch",)
    assert "claimSignature.validated" in other.success, "the signature itself still holds: only the media changed"
    ours = mp4_read_manifest(path=signed, root_certificate_pem=material.root_certificate_pem)
    assert not ours.valid and ours.hash_binding_intact is False
    assert any(code.startswith("assertion.bmffHash.mismatch") for code in ours.issues)


def test_an_unsigned_mp4_has_nothing_to_validate(sample_mp4, c2pa_ts):
    assert not c2pa_ts.validate(sample_mp4).is_valid
