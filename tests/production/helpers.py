"""Steps the production-mode tests share: submit a render over the API, watch it, check the stored video."""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings

from inference import media

# About twelve seconds of speech: a render long enough to be interrupted on purpose.
LONG_TEXT = "The quick brown fox jumps over the lazy dog. " * 4
FINISHED = ("done", "failed", "cancelled")


def render_submit(api, portrait, *, text: str = LONG_TEXT, headers: dict | None = None) -> str:
    response = api.post(
        "/api/renders/",
        {"portrait": str(portrait.id), "purpose": "marketing", "text": text, "language": "en"},
        format="multipart",
        headers=headers or {},
    )
    assert response.status_code == 202, response.json()
    return response.json()["id"]


def render_wait(api, render_id: str, *, until, timeout_s: float = 240, on_poll=None) -> dict:
    """Poll the render-status API until `until(body)` holds; `on_poll(body)` sees every answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        body = api.get(f"/api/renders/{render_id}/").json()
        if on_poll is not None:
            on_poll(body)
        if until(body):
            return body
        assert time.monotonic() < deadline, f"render {render_id} did not get there in {timeout_s}s: {body}"
        time.sleep(0.2)


def video_path(render_id: str) -> Path:
    return Path(settings.MEDIA_ROOT) / "videos" / f"{render_id}.mp4"


def assert_complete_video(path: Path, duration_s: float) -> None:
    """A whole MP4: every frame of the speech there, with its audio track."""
    info = media.video_probe(path)
    assert info.has_audio
    assert abs(info.frame_count - duration_s * settings.CANDOR_RENDER_FPS) <= 1, info
