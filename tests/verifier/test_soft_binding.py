"""Candor as a C2PA manifest repository: the Soft Binding Resolution API on real renders, copies and erasures."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from provenance.c2pa_manifest import mp4_read_manifest
from provenance.keys import signing_material_load_or_create
from provenance.watermark import ALGORITHM
from tests.helpers import portrait_with_active_consent
from tests.interop.c2pa_ts import c2pa_ts
from tests.provenance.mp4_boxes import c2pa_manifest_store
from tests.verifier.test_verification import _reencoded

__all__ = ["c2pa_ts"]

pytestmark = pytest.mark.django_db

BASE = "/api/c2pa"


def _root_pem(settings) -> bytes:
    return signing_material_load_or_create(settings.KEYS_DIR).root_certificate_pem


def _by_content(client, video: bytes, content_type="video/mp4", query=""):
    return client.post(f"{BASE}/matches/byContent{query}", data=video, content_type=content_type)


def _by_binding(client, alg: str, value: str):
    return client.get(f"{BASE}/matches/byBinding", {"alg": alg, "value": value})


def test_a_stripped_re_encoded_render_gets_its_manifest_back_byte_identical_and_still_valid(
    render, tmp_path, public_api, settings
):
    original = Path(render.video.path)
    copy = _reencoded(original, tmp_path / "copy.mp4", crf=28)
    assert not mp4_read_manifest(path=copy, root_certificate_pem=_root_pem(settings)).present

    found = _by_content(public_api, copy.read_bytes())
    assert found.status_code == 200, found.content
    [match] = found.json()["matches"]
    served = public_api.get(f"{BASE}/manifests/{match['manifestId']}")

    assert served.status_code == 200
    assert served["Content-Type"] == "application/c2pa"
    assert served.content == c2pa_manifest_store(original.read_bytes()), "the store exactly as signed into the MP4"
    # The recovered store is the render's signed statement: judged against the render's own bytes it is valid and
    # trusted; against the re-encoded copy only its hard binding fails (those are other bytes).
    report = mp4_read_manifest(path=original, root_certificate_pem=_root_pem(settings), manifest_store=served.content)
    assert report.valid and report.trusted and report.hash_binding_intact
    assert report.render_id == str(render.id)
    assert report.soft_binding["algorithm"] == ALGORITHM
    on_copy = mp4_read_manifest(path=copy, root_certificate_pem=_root_pem(settings), manifest_store=served.content)
    assert on_copy.hash_binding_intact is False and on_copy.render_id == str(render.id)


def test_the_recovered_manifest_validates_in_the_second_c2pa_implementation(render, tmp_path, public_api, c2pa_ts):
    original = Path(render.video.path)
    copy = _reencoded(original, tmp_path / "copy.mp4", crf=28)
    [match] = _by_content(public_api, copy.read_bytes()).json()["matches"]
    store = tmp_path / "recovered.c2pa"
    store.write_bytes(public_api.get(f"{BASE}/manifests/{match['manifestId']}").content)

    judged = c2pa_ts.validate(original, store)

    assert judged.is_valid, judged.failure
    assert {"claimSignature.validated", "assertion.bmffHash.match"} <= set(judged.success)
    assert c2pa_ts.validate(copy, store).failure == ("assertion.bmffHash.mismatch",)


def test_the_manifest_names_the_watermark_and_byBinding_finds_it_by_that_value(render, public_api, settings):
    report = mp4_read_manifest(path=Path(render.video.path), root_certificate_pem=_root_pem(settings))
    value = base64.b64encode(bytes.fromhex(report.soft_binding["payload_hex"])).decode("ascii")

    by_get = _by_binding(public_api, report.soft_binding["algorithm"], value)
    by_post = public_api.post(
        f"{BASE}/matches/byBinding", {"alg": report.soft_binding["algorithm"], "value": value}, format="json"
    )

    assert report.soft_binding["algorithm"] == ALGORITHM == "org.candor.watermark.2"
    assert by_get.status_code == by_post.status_code == 200
    manifest_id = by_get.json()["matches"][0]["manifestId"]
    assert by_get.json() == by_post.json() == {"matches": [{"manifestId": manifest_id}]}
    assert manifest_id.startswith("urn:c2pa:")
    other_value = base64.b64encode(bytes(len(base64.b64decode(value)))).decode("ascii")
    assert _by_binding(public_api, ALGORITHM, other_value).json() == {"matches": []}


def test_a_copied_watermark_on_other_content_matches_no_manifest(render, grace_hopper, tmp_path, public_api):
    import cv2
    import numpy as np

    from inference import media
    from provenance.services import _watermark_key
    from provenance.watermark import FrameWatermarker

    # The real watermark (made with Candor's own key) on another person's video: the watermark alone names a render.
    other = cv2.resize(grace_hopper, (512, 512), interpolation=cv2.INTER_AREA)
    marker = FrameWatermarker(render.watermark_serial, _watermark_key())
    fake = tmp_path / "fake.mp4"
    media.mp4_write(fake, [marker.mark(other) for _ in range(20)], np.zeros(16000, np.float32), 16000)

    response = _by_content(public_api, fake.read_bytes())

    assert response.status_code == 200
    assert response.json() == {"matches": []}


@pytest.fixture
def signed_render(creator, portrait_jpeg, sample_mp4, tmp_path):
    """A queued render of a consented portrait whose MP4 (a small real one) went through Candor's signing."""
    from provenance.services import video_sign
    from studio.services import render_enqueue

    portrait = portrait_with_active_consent(creator, portrait_jpeg)
    queued = render_enqueue(
        owner=creator, portrait=portrait, purpose="marketing", text="Hi.", language="en", dispatch=False
    )
    stored = video_sign(source=sample_mp4, destination=tmp_path / "signed.mp4", render=queued)
    return queued, stored


def test_signing_keeps_the_store_and_it_names_no_one(signed_render, tmp_path):
    render, stored = signed_render

    assert bytes(stored.store) == c2pa_manifest_store((tmp_path / "signed.mp4").read_bytes())
    assert stored.soft_binding_alg == ALGORITHM
    assert b"Eileen" not in bytes(stored.store) and b"eileen@example.com" not in bytes(stored.store)


def test_after_revocation_the_manifest_is_still_served(signed_render, public_api):
    from consent.services import consent_revoke

    render, stored = signed_render
    consent_revoke(revoke_token=render.consent.revoke_token)

    assert _by_binding(public_api, ALGORITHM, stored.soft_binding_value).json() == {
        "matches": [{"manifestId": stored.manifest_id}]
    }
    served = public_api.get(f"{BASE}/manifests/{stored.manifest_id}")
    assert served.status_code == 200 and served.content == bytes(stored.store)


def test_after_the_creator_deletes_the_video_the_manifest_is_still_served(signed_render, public_api):
    from studio.services import render_delete

    render, stored = signed_render
    render_delete(render=render)

    assert _by_binding(public_api, ALGORITHM, stored.soft_binding_value).json() == {
        "matches": [{"manifestId": stored.manifest_id}]
    }
    assert public_api.get(f"{BASE}/manifests/{stored.manifest_id}").status_code == 200


def test_after_erasure_the_repository_answers_as_for_a_manifest_it_never_had(signed_render, public_api):
    from consent.services import consent_erase
    from provenance.models import RenderManifest

    render, stored = signed_render
    consent_erase(revoke_token=render.consent.revoke_token)

    assert not RenderManifest.objects.filter(render=render).exists()
    assert _by_binding(public_api, ALGORITHM, stored.soft_binding_value).json() == {"matches": []}
    erased = public_api.get(f"{BASE}/manifests/{stored.manifest_id}")
    never_existed = public_api.get(f"{BASE}/manifests/urn:c2pa:{uuid.uuid4()}")
    assert erased.status_code == never_existed.status_code == 404
    assert (
        erased.json()
        == never_existed.json()
        == {"error": "not_found", "detail": "no manifest with this id is kept here"}
    )


def test_the_active_manifest_alone_is_the_stores_last_manifest_box(signed_render, public_api):
    render, stored = signed_render

    active = public_api.get(f"{BASE}/manifests/{stored.manifest_id}", {"returnActiveManifest": "true"})

    assert active.status_code == 200 and active["Content-Type"] == "application/c2pa"
    body = active.content
    assert body[4:8] == b"jumb" and int.from_bytes(body[:4], "big") == len(body)
    assert bytes(stored.store).endswith(body)
    assert stored.manifest_id.encode() in body[:200], "its description box carries the manifest's label"


def test_supported_algorithms_name_the_watermark(public_api):
    response = public_api.get(f"{BASE}/services/supportedAlgorithms")

    assert response.status_code == 200
    assert response.json() == {"watermarks": [{"alg": ALGORITHM}], "fingerprints": []}


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        pytest.param({"alg": "com.example.watermark.1", "value": "AAAA"}, 400, "unsupported_algorithm", id="alg"),
        pytest.param({"alg": ALGORITHM, "value": "AAAA!"}, 400, "invalid", id="value"),
        pytest.param({"alg": ALGORITHM}, 400, "invalid", id="no-value"),
        pytest.param({"alg": ALGORITHM, "value": "AAAA", "maxResults": "0"}, 400, "invalid", id="max-results-0"),
        pytest.param({"alg": ALGORITHM, "value": "AAAA", "maxResults": "x"}, 400, "invalid", id="max-results-x"),
        pytest.param({"alg": ALGORITHM, "value": "AAAA", "maxResults": "1"}, 200, None, id="max-results-1"),
    ],
)
def test_by_binding_refuses_bad_queries_with_a_reason(public_api, query, status, code):
    response = public_api.get(f"{BASE}/matches/byBinding", query)

    assert response.status_code == status
    if code is not None:
        assert response.json()["error"] == code and response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png", 415, "unsupported_media_type", id="image"),
        pytest.param(b"", "video/mp4", 400, "invalid_video", id="empty"),
        pytest.param(b"not a video at all" * 10, "video/mp4", 400, "invalid_video", id="text"),
    ],
)
def test_by_content_refuses_what_is_not_a_video(public_api, body, content_type, status, code):
    response = _by_content(public_api, body, content_type=content_type)

    assert response.status_code == status
    assert response.json()["error"] == code and response.json()["detail"]
    if status == 415:
        assert "video/*" in response.json()["detail"], "the client is told what to send instead"


def test_by_content_refuses_an_oversized_video(public_api, settings, sample_mp4):
    settings.CANDOR_MAX_VIDEO_BYTES = 1000

    response = _by_content(public_api, sample_mp4.read_bytes())

    assert response.status_code == 413 and response.json()["error"] == "too_large"


def test_by_content_refuses_a_video_by_its_declared_length_before_reading_it(public_api, settings, sample_mp4):
    settings.CANDOR_MAX_VIDEO_BYTES = 1000
    # Only the header says it is too large: the body is never spooled to disk.
    response = public_api.post(
        f"{BASE}/matches/byContent", data=b"tiny", content_type="video/mp4", CONTENT_LENGTH="5000000000"
    )

    assert response.status_code == 413 and response.json()["error"] == "too_large"


def test_by_content_refuses_another_algorithm(public_api, sample_mp4):
    response = _by_content(public_api, sample_mp4.read_bytes(), query="?alg=com.adobe.trustmark.P")

    assert response.status_code == 400 and response.json()["error"] == "unsupported_algorithm"


def test_an_unrelated_video_matches_nothing(public_api, sample_mp4):
    response = _by_content(public_api, sample_mp4.read_bytes())

    assert response.status_code == 200 and response.json() == {"matches": []}


@pytest.mark.parametrize("manifest_id", ["render-1", "urn:c2pa:" + "x" * 300])
def test_a_malformed_manifest_id_is_a_400(public_api, manifest_id):
    response = public_api.get(f"{BASE}/manifests/{manifest_id}")

    assert response.status_code == 400 and response.json()["error"] == "invalid"


def test_lookups_are_rate_limited_per_client_and_do_not_spend_the_verifiers_allowance(public_api, settings):
    from django.core.cache import cache

    cache.clear()
    settings.CANDOR_VERIFY_RATE = "3/minute"
    statuses = [_by_binding(public_api, ALGORITHM, "AAAA").status_code for _ in range(4)]
    verify = public_api.post(
        "/api/verify/", {"video": SimpleUploadedFile("clip.mp4", b"junk")}, format="multipart"
    ).status_code
    cache.clear()

    assert statuses == [200, 200, 200, 429]
    assert verify == 400, "the verifier's own allowance is untouched"


def test_sending_a_video_shares_the_verifiers_allowance(public_api, settings):
    from django.core.cache import cache

    cache.clear()
    settings.CANDOR_VERIFY_RATE = "2/minute"
    statuses = [_by_content(public_api, b"junk").status_code for _ in range(2)]
    verify = public_api.post("/api/verify/", {"video": SimpleUploadedFile("clip.mp4", b"junk")}, format="multipart")
    cache.clear()

    assert statuses == [400, 400]
    assert verify.status_code == 429
