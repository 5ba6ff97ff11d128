"""Tests for signing MP4s with C2PA manifests and reading them back."""

from __future__ import annotations

import stat

import pytest

from provenance.c2pa_manifest import (
    TRAINED_ALGORITHMIC_MEDIA,
    Ingredient,
    SoftBinding,
    active_manifest_jumbf,
    mp4_read_manifest,
    mp4_sign,
)
from provenance.keys import retired_certificates, signing_material_load_or_create, signing_material_rotate
from provenance.signer import local_signer
from tests.provenance.mp4_boxes import c2pa_manifest_store, top_level_box

RENDER_ID = "render-0001"
PORTRAIT_SHA256 = "ab" * 32
PAYLOAD_HEX = "0123456789abcdef"


def _sign(*, source, destination, material, **overrides):
    arguments = {
        "render_id": RENDER_ID,
        "title": "Portrait greeting",
        "generator_version": "0.1.0",
        "consent_summary": {
            "consent_id": "c-1",
            "purposes": ["marketing"],
            "status_url": "https://candor.example/verify/",
        },
        "ingredient": Ingredient(title="source portrait", relationship="parentOf", sha256=PORTRAIT_SHA256),
        "soft_binding": SoftBinding(algorithm="org.candor.watermark.ss-tile.1", payload_hex=PAYLOAD_HEX),
        "edits": ("c2pa.edited",),
        **overrides,
    }
    mp4_sign(
        source=source,
        destination=destination,
        signer=local_signer(material),
        trust_anchor_pem=material.root_certificate_pem,
        **arguments,
    )
    return destination


@pytest.fixture
def material(tmp_path):
    return signing_material_load_or_create(tmp_path / "keys")


@pytest.fixture
def signed_mp4(tmp_path, sample_mp4, material):
    return _sign(source=sample_mp4, destination=tmp_path / "signed.mp4", material=material)


def test_signed_mp4_reads_back_valid_trusted_and_marked_as_ai_generated(signed_mp4, material):
    report = mp4_read_manifest(path=signed_mp4, root_certificate_pem=material.root_certificate_pem)

    assert report.present
    assert report.valid
    assert report.trusted
    assert report.hash_binding_intact
    assert report.hash_binding.startswith("c2pa.hash.bmff.v")
    assert int(report.hash_binding.rsplit(".v", 1)[1]) >= 2
    assert report.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert report.render_id == RENDER_ID
    assert report.claim_generator == "Candor/0.1.0"
    assert report.signed_at
    assert report.signer == "Candor Content Credentials"
    assert report.issues == ()


def test_the_manifest_lists_actions_soft_binding_portrait_hash_and_consent_without_personal_data(signed_mp4, material):
    report = mp4_read_manifest(path=signed_mp4, root_certificate_pem=material.root_certificate_pem)

    assert report.actions == ("c2pa.created", "c2pa.edited", "c2pa.watermarked")
    assert report.soft_binding == {"algorithm": "org.candor.watermark.ss-tile.1", "payload_hex": PAYLOAD_HEX}
    assert report.ingredients == (
        {"title": "source portrait", "relationship": "parentOf", "instance_id": f"sha256:{PORTRAIT_SHA256}"},
    )
    assert report.consent == {
        "consent_id": "c-1",
        "purposes": ["marketing"],
        "status_url": "https://candor.example/verify/",
    }
    # Only the portrait's hash travels: no thumbnail or image data is embedded.
    assert b"image/jpeg" not in signed_mp4.read_bytes() or b"c2pa.thumbnail.ingredient" not in signed_mp4.read_bytes()


def test_after_key_rotation_old_and_new_videos_both_verify_and_the_old_certificate_is_kept(
    tmp_path, sample_mp4, material
):
    keys_dir = tmp_path / "keys"
    old = _sign(source=sample_mp4, destination=tmp_path / "old.mp4", material=material)

    rotated = signing_material_rotate(keys_dir)
    new = _sign(source=sample_mp4, destination=tmp_path / "new.mp4", material=rotated)

    assert rotated.key_id != material.key_id
    assert rotated.root_certificate_pem == material.root_certificate_pem
    assert retired_certificates(keys_dir) == {material.key_id: material.certificate_chain_pem}
    assert signing_material_load_or_create(keys_dir) == rotated
    for video in (old, new):
        report = mp4_read_manifest(path=video, root_certificate_pem=rotated.root_certificate_pem)
        assert report.trusted and report.hash_binding_intact, video.name


def test_signing_leaves_no_temp_file_and_keeps_the_source_permissions(tmp_path, signed_mp4, sample_mp4):
    assert sorted(path.name for path in tmp_path.iterdir() if path.is_file()) == ["sample.mp4", "signed.mp4"]
    assert stat.S_IMODE(signed_mp4.stat().st_mode) == stat.S_IMODE(sample_mp4.stat().st_mode)


def test_unsigned_mp4_has_no_manifest(sample_mp4, material):
    report = mp4_read_manifest(path=sample_mp4, root_certificate_pem=material.root_certificate_pem)

    assert not report.present
    assert not report.valid
    assert not report.trusted
    assert report.issues == ()


def test_flipping_media_bytes_breaks_the_hash_binding(signed_mp4, material):
    data = bytearray(signed_mp4.read_bytes())
    start, size = top_level_box(bytes(data), b"mdat")
    for offset in range(start + size // 2, start + size // 2 + 32):
        data[offset] ^= 0xFF
    signed_mp4.write_bytes(bytes(data))

    report = mp4_read_manifest(path=signed_mp4, root_certificate_pem=material.root_certificate_pem)

    assert report.present
    assert not report.valid
    assert not report.trusted
    assert report.hash_binding_intact is False
    assert "assertion.bmffHash.mismatch" in report.issues


def test_a_corrupted_manifest_reads_as_present_but_invalid(signed_mp4, material):
    data = bytearray(signed_mp4.read_bytes())
    start, size = top_level_box(bytes(data), b"uuid")
    # Past the uuid box header and C2PA's uuid/purpose fields, into the JUMBF boxes.
    data[start + 60 : start + size // 4] = bytes(size // 4 - 60)
    signed_mp4.write_bytes(bytes(data))

    report = mp4_read_manifest(path=signed_mp4, root_certificate_pem=material.root_certificate_pem)

    assert report.present
    assert not report.valid
    assert not report.trusted
    assert report.issues


def test_a_different_root_sees_a_valid_but_untrusted_manifest(tmp_path, signed_mp4):
    stranger = signing_material_load_or_create(tmp_path / "stranger-keys")

    report = mp4_read_manifest(path=signed_mp4, root_certificate_pem=stranger.root_certificate_pem)

    assert report.present
    assert report.valid
    assert not report.trusted
    assert report.render_id == RENDER_ID
    assert "signingCredential.untrusted" in report.issues


def test_remuxing_strips_the_manifest(tmp_path, signed_mp4, material, remux_mp4):
    remuxed = remux_mp4(source=signed_mp4, destination=tmp_path / "remuxed.mp4")

    report = mp4_read_manifest(path=remuxed, root_certificate_pem=material.root_certificate_pem)

    assert not report.present
    assert not report.trusted


def _cut_inside_manifest(signed: bytes) -> bytes:
    start, size = top_level_box(signed, b"uuid")
    return signed[: start + size // 2]


@pytest.mark.parametrize(
    "make_bytes",
    [
        pytest.param(lambda signed: b"definitely not a video\n" * 20, id="text"),
        pytest.param(_cut_inside_manifest, id="truncated-inside-manifest"),
        pytest.param(lambda signed: b"", id="empty"),
    ],
)
def test_garbage_input_reports_no_manifest_instead_of_raising(tmp_path, signed_mp4, material, make_bytes):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(make_bytes(signed_mp4.read_bytes()))

    report = mp4_read_manifest(path=garbage, root_certificate_pem=material.root_certificate_pem)

    assert not report.present
    assert not report.valid
    assert not report.trusted
    assert report.issues


def test_a_file_truncated_after_its_manifest_reads_as_present_but_invalid(signed_mp4, material):
    data = signed_mp4.read_bytes()
    start, size = top_level_box(data, b"mdat")
    signed_mp4.write_bytes(data[: start + size // 2])

    report = mp4_read_manifest(path=signed_mp4, root_certificate_pem=material.root_certificate_pem)

    assert report.present
    assert not report.valid
    assert not report.trusted
    assert report.issues


def test_signing_in_place_replaces_the_file_with_a_signed_one(sample_mp4, material):
    _sign(
        source=sample_mp4,
        destination=sample_mp4,
        material=material,
        consent_summary=None,
        ingredient=None,
        soft_binding=None,
        edits=(),
    )

    assert mp4_read_manifest(path=sample_mp4, root_certificate_pem=material.root_certificate_pem).trusted


def test_consent_summary_cannot_override_the_render_id(tmp_path, sample_mp4, material):
    with pytest.raises(ValueError):
        _sign(
            source=sample_mp4,
            destination=tmp_path / "out.mp4",
            material=material,
            consent_summary={"render_id": "forged"},
        )
    assert not (tmp_path / "out.mp4").exists()


def test_signing_returns_the_manifest_store_as_embedded_and_it_validates_apart_from_the_file(
    tmp_path, sample_mp4, material
):
    signed = mp4_sign(
        source=sample_mp4,
        destination=tmp_path / "signed.mp4",
        signer=local_signer(material),
        trust_anchor_pem=material.root_certificate_pem,
        render_id=RENDER_ID,
        title="Portrait greeting",
        generator_version="0.1.0",
    )
    embedded = c2pa_manifest_store((tmp_path / "signed.mp4").read_bytes())

    assert signed.store == embedded
    assert signed.manifest_id.startswith("urn:c2pa:")
    assert signed.manifest_id.encode() in active_manifest_jumbf(signed.store)[:200]
    apart = mp4_read_manifest(
        path=tmp_path / "signed.mp4", root_certificate_pem=material.root_certificate_pem, manifest_store=signed.store
    )
    assert apart.trusted and apart.hash_binding_intact and apart.render_id == RENDER_ID
    on_other_bytes = mp4_read_manifest(
        path=sample_mp4, root_certificate_pem=material.root_certificate_pem, manifest_store=signed.store
    )
    assert not on_other_bytes.valid and on_other_bytes.hash_binding_intact is False


@pytest.mark.parametrize("store", [b"", b"\x00\x00\x00\x10jumbnot-a-store", b"\x00\x00\x00\x08free"])
def test_a_store_without_a_manifest_box_is_refused(store):
    with pytest.raises(ValueError):
        active_manifest_jumbf(store)
