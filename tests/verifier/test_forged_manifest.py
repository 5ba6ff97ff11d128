"""The verifier never vouches for a manifest Candor did not sign, however well it imitates one."""

from __future__ import annotations

import io

import pytest

from provenance import c2pa_manifest, keys
from provenance.signer import local_signer
from tests.helpers import portrait_with_active_consent

pytestmark = pytest.mark.django_db


@pytest.fixture
def real_render(creator, portrait_jpeg):
    from studio.services import render_enqueue

    portrait = portrait_with_active_consent(creator, portrait_jpeg)
    return render_enqueue(
        owner=creator, portrait=portrait, purpose="marketing", text="Hi.", language="en", dispatch=False
    )


def _forged(*, source, destination, render, stranger):
    """An MP4 signed by a stranger's own certificate authority, copying every claim a Candor manifest makes."""
    c2pa_manifest.mp4_sign(
        source=source,
        destination=destination,
        signer=local_signer(stranger),
        trust_anchor_pem=stranger.root_certificate_pem,
        render_id=str(render.id),
        title=f"Candor render {render.id}",
        generator_version="1.0.0",
        consent_summary={"consent_id": str(render.consent_id), "purposes": ["marketing"], "languages": ["any"]},
        edits=("c2pa.edited",),
    )
    return destination


def test_a_stranger_signed_mp4_naming_a_real_render_is_not_vouched_for(real_render, sample_mp4, tmp_path, public_api):
    stranger = keys.signing_material_load_or_create(tmp_path / "stranger-keys")
    forged = _forged(source=sample_mp4, destination=tmp_path / "forged.mp4", render=real_render, stranger=stranger)
    upload = io.BytesIO(forged.read_bytes())
    upload.name = "forged.mp4"

    response = public_api.post("/api/verify/", {"video": upload}, format="multipart")

    assert response.status_code == 200
    report = response.json()
    # The forgery is well made: a valid manifest naming the render, only its signer is not Candor's.
    assert report["c2pa"]["present"] and report["c2pa"]["valid"]
    assert report["c2pa"]["trusted"] is False
    assert "signingCredential.untrusted" in report["c2pa"]["issues"]
    assert report["verdict"] == "not_recognized"
    assert report["render"] is None, "no render or consent state is named on the strength of an untrusted manifest"
    assert report["content_match"] is None
    assert any("not signed by Candor" in line for line in report["explanation"])
