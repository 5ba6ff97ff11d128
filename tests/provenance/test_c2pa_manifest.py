"""Tests for signing MP4s with C2PA manifests and reading them back."""

from __future__ import annotations

import stat

import pytest

from provenance.c2pa_manifest import TRAINED_ALGORITHMIC_MEDIA, mp4_read_manifest, mp4_sign
from provenance.keys import signing_material_load_or_create

RENDER_ID = "render-0001"


def _top_level_box(data: bytes, box_type: bytes) -> tuple[int, int]:
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        if data[offset + 4 : offset + 8] == box_type:
            return offset, size
        offset += size
    raise LookupError(box_type)


@pytest.fixture
def material(tmp_path):
    return signing_material_load_or_create(tmp_path / "keys")


@pytest.fixture
def signed_mp4(tmp_path, sample_mp4, material):
    destination = tmp_path / "signed.mp4"
    mp4_sign(
        source=sample_mp4,
        destination=destination,
        material=material,
        render_id=RENDER_ID,
        title="Portrait greeting",
        generator_version="0.1.0",
        consent_summary={"consent_scope": "personal", "consent_version": 3},
    )
    return destination


def test_signed_mp4_reads_back_valid_trusted_and_marked_as_ai_generated(signed_mp4, material):
    report = mp4_read_manifest(path=signed_mp4, root_certificate_pem=material.root_certificate_pem)

    assert report.present
    assert report.valid
    assert report.trusted
    assert report.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert report.render_id == RENDER_ID
    assert "Candor" in report.claim_generator
    assert report.signed_at
    assert report.issues == ()


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
    start, size = _top_level_box(bytes(data), b"mdat")
    for offset in range(start + size // 2, start + size // 2 + 32):
        data[offset] ^= 0xFF
    signed_mp4.write_bytes(bytes(data))

    report = mp4_read_manifest(path=signed_mp4, root_certificate_pem=material.root_certificate_pem)

    assert report.present
    assert not report.valid
    assert not report.trusted
    assert "assertion.bmffHash.mismatch" in report.issues


def test_a_corrupted_manifest_reads_as_present_but_invalid(signed_mp4, material):
    data = bytearray(signed_mp4.read_bytes())
    start, size = _top_level_box(bytes(data), b"uuid")
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
    start, size = _top_level_box(signed, b"uuid")
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
    start, size = _top_level_box(data, b"mdat")
    signed_mp4.write_bytes(data[: start + size // 2])

    report = mp4_read_manifest(path=signed_mp4, root_certificate_pem=material.root_certificate_pem)

    assert report.present
    assert not report.valid
    assert not report.trusted
    assert report.issues


def test_signing_in_place_replaces_the_file_with_a_signed_one(sample_mp4, material):
    mp4_sign(
        source=sample_mp4,
        destination=sample_mp4,
        material=material,
        render_id=RENDER_ID,
        title="in place",
        generator_version="0.1.0",
    )

    assert mp4_read_manifest(path=sample_mp4, root_certificate_pem=material.root_certificate_pem).trusted


def test_consent_summary_cannot_override_the_render_id(tmp_path, sample_mp4, material):
    with pytest.raises(ValueError):
        mp4_sign(
            source=sample_mp4,
            destination=tmp_path / "out.mp4",
            material=material,
            render_id=RENDER_ID,
            title="t",
            generator_version="0.1.0",
            consent_summary={"render_id": "forged"},
        )
    assert not (tmp_path / "out.mp4").exists()
