"""The public verifier refuses bad input with 4xx and is rate-limited per client."""

from __future__ import annotations

import io

import pytest

pytestmark = pytest.mark.django_db


def _post(client, data: bytes, name="clip.mp4", **extra):
    handle = io.BytesIO(data)
    handle.name = name
    return client.post("/api/verify/", {"video": handle}, format="multipart", **extra)


@pytest.mark.parametrize(
    "payload",
    [b"", b"not a video at all", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200],
    ids=["empty", "text", "truncated-mp4"],
)
def test_garbage_gets_a_400_with_a_reason(public_api, payload):
    response = _post(public_api, payload)
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_video"} and response.json()["detail"]


def test_a_missing_file_field_is_a_400(public_api):
    response = public_api.post("/api/verify/", {}, format="multipart")
    assert response.status_code == 400 and response.json()["error"] == "invalid"


def test_over_the_rate_a_client_gets_429_with_retry_after(public_api, settings):
    from django.core.cache import cache

    cache.clear()
    settings.CANDOR_VERIFY_RATE = "3/minute"
    statuses = [_post(public_api, b"junk").status_code for _ in range(3)]
    assert statuses == [400, 400, 400]
    limited = _post(public_api, b"junk")
    assert limited.status_code == 429
    assert limited.json()["error"] == "throttled"
    assert 0 < int(limited["Retry-After"]) <= 60
    other_client = _post(public_api, b"junk", REMOTE_ADDR="10.9.8.7")
    assert other_client.status_code == 400, "another client keeps its own allowance"
    cache.clear()


def test_the_verify_page_renders_and_explains_unknown_files(client):
    page = client.get("/verify/")
    assert page.status_code == 200 and b"Was this video made with Candor?" in page.content
    handle = io.BytesIO(b"junk")
    handle.name = "x.mp4"
    response = client.post("/verify/", {"video": handle})
    assert response.status_code == 400 and b"not a readable video" in response.content


def test_an_upload_over_the_size_limit_is_refused_with_413(public_api, settings):
    settings.CANDOR_MAX_VIDEO_BYTES = 1000
    response = _post(public_api, b"\x00" * 1001)
    assert response.status_code == 413 and response.json()["error"] == "too_large"


def test_a_file_and_a_link_together_are_refused(public_api, settings):
    handle = io.BytesIO(b"junk")
    handle.name = "clip.mp4"
    response = public_api.post(
        "/api/verify/", {"video": handle, "url": f"{settings.CANDOR_PUBLIC_URL}/renders/x/video/"}, format="multipart"
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid"


def test_when_every_verification_slot_is_busy_a_client_is_told_when_to_retry_and_status_calls_are_unaffected(
    public_api, client, api, settings
):
    import threading

    from verifier.throttling import verification_slot

    settings.CANDOR_VERIFY_CONCURRENCY = 1
    holding, release = threading.Event(), threading.Event()

    def long_verification():
        with verification_slot():
            holding.set()
            release.wait(10)

    worker = threading.Thread(target=long_verification)
    worker.start()
    try:
        assert holding.wait(5)
        busy = _post(public_api, b"junk")
        assert busy.status_code == 429 and busy.json()["error"] == "verifier_busy" and busy["Retry-After"] == "2"
        handle = io.BytesIO(b"junk")
        handle.name = "x.mp4"
        page = client.post("/verify/", {"video": handle})
        assert page.status_code == 429 and page["Retry-After"] == "2" and b"busy" in page.content
        assert api.get("/api/renders/").status_code == 200
    finally:
        release.set()
        worker.join()
    assert _post(public_api, b"junk").status_code == 400, "the slot is free again: the file itself is judged"


def test_a_video_larger_than_4k_is_refused_from_its_header_before_any_frame_is_decoded(public_api):
    from tests.consent.test_capture_cost import decode_bomb

    huge = decode_bomb(width=5120, height=2880, seconds=0.2, fps=10)
    response = _post(public_api, huge)
    assert (response.status_code, response.json()["error"]) == (413, "video_too_large"), response.json()
    assert "5120x2880" in response.json()["detail"]
