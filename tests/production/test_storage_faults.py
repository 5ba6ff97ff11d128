"""A full disk or a read-only data directory during a render: the render fails saying so; nothing else changes."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from consent.models import ConsentEvent
from studio.models import Render
from studio.services import render_enqueue, render_run
from tests.production.helpers import assert_complete_video

pytestmark = pytest.mark.django_db

SHORT_TEXT = "Hello there, this is a short message for you."


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(
            f"storage fault group not run: cannot mount a test filesystem here ({result.stderr.strip()}); run as root"
        )


class BrokenStorage:
    """MEDIA_ROOT/videos on a 64 KB tmpfs (fills up mid-render) or a read-only bind mount (EROFS, even for root)."""

    def __init__(self, kind: str, spare: Path):
        self.videos = Path(settings.MEDIA_ROOT) / "videos"
        self.videos.mkdir(parents=True, exist_ok=True)
        if kind == "disk_full":
            _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(self.videos))
            self.error = "No space left on device"
        else:
            _mount("--bind", str(spare), str(self.videos))
            _mount("-o", "remount,bind,ro", str(self.videos))
            self.error = "Read-only file system"

    def repair(self) -> None:
        # os.path.ismount cannot see a bind mount from the same disk, so the mount table is asked.
        if f" {self.videos} " in Path("/proc/self/mountinfo").read_text():
            subprocess.run(["umount", str(self.videos)], check=True)


@pytest.fixture(params=["disk_full", "read_only"])
def broken_storage(request, tmp_path):
    storage = BrokenStorage(request.param, tmp_path)
    yield storage
    storage.repair()


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_a_render_on_broken_storage_fails_clearly_and_leaves_other_data_intact(
    creator, consented_portrait, broken_storage
):
    portrait_digest = _digest(consented_portrait.image.path)
    doomed, waiting = (
        render_enqueue(
            owner=creator,
            portrait=consented_portrait,
            purpose="marketing",
            text=SHORT_TEXT,
            language="en",
            dispatch=False,
        )
        for _ in range(2)
    )
    events_before = list(ConsentEvent.objects.values_list("entry_hash", flat=True))

    render_run(render_id=doomed.id)

    doomed.refresh_from_db()
    assert doomed.status == Render.Status.FAILED
    assert doomed.error == f"the video could not be stored: {broken_storage.error}"
    assert not doomed.video
    assert _digest(consented_portrait.image.path) == portrait_digest
    assert Render.objects.get(id=waiting.id).status == Render.Status.QUEUED
    # The log only grew (render_started of the failed one); no earlier entry changed.
    assert list(ConsentEvent.objects.values_list("entry_hash", flat=True))[: len(events_before)] == events_before

    broken_storage.repair()
    render_run(render_id=waiting.id)
    waiting.refresh_from_db()
    assert waiting.status == Render.Status.DONE, waiting.error
    assert_complete_video(Path(waiting.video.path), waiting.duration_s)
