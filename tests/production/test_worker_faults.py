"""A render worker killed mid-render, and a render over its time budget, with real workers on PostgreSQL + Redis."""

from __future__ import annotations

import pytest

from studio.models import Render
from studio.services import uploads_abandoned_delete
from tests.production.helpers import FINISHED, assert_complete_video, render_submit, render_wait, video_path
from tests.production.workers import Workers

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_render_worker_killed_mid_render_gets_its_job_back_and_finishes(api, consented_portrait):
    with Workers(count=2) as workers:
        render_id = render_submit(api, consented_portrait)
        before_kill = render_wait(
            api, render_id, until=lambda body: body["status"] == "running" and body["progress"] >= 0.2
        )
        assert api.get(f"/api/renders/{render_id}/video/").status_code == 409
        assert workers.kill_pool_children()

        seen = []

        def nothing_half_written_is_served(body):
            seen.append(body["progress"])
            if body["status"] != "done":
                assert body["video_url"] is None
                # The render may finish between the status poll and this request: a served video is
                # fine only if the render is done by now. (The final MP4 is renamed into place whole.)
                if api.get(f"/api/renders/{render_id}/video/").status_code != 409:
                    assert api.get(f"/api/renders/{render_id}/").json()["status"] == "done", (
                        "a video was served before the render was done"
                    )

        done = render_wait(
            api, render_id, until=lambda body: body["status"] in FINISHED, on_poll=nothing_half_written_is_served
        )
        assert done["status"] == "done", (done, workers.log_text())
        # The job started over on a fresh process: progress went back below where it was killed, then to the end.
        assert min(seen) < before_kill["progress"] and done["progress"] == 1.0

    assert_complete_video(video_path(render_id), done["duration_s"])
    response = api.get(f"/api/renders/{render_id}/video/")
    assert response.status_code == 200 and response["Content-Type"] == "video/mp4"
    # The killed process left its half-written temp file behind; the periodic clean-up removes it, and only it.
    videos = video_path(render_id).parent
    leftovers = {path.name for path in videos.iterdir()} - {f"{render_id}.mp4"}
    assert uploads_abandoned_delete(older_than_hours=0) >= len(leftovers)
    assert [path.name for path in videos.iterdir()] == [f"{render_id}.mp4"]
    assert Render.objects.get(id=render_id).status == Render.Status.DONE


def test_a_render_over_its_time_budget_is_stopped_and_marked_failed(api, consented_portrait):
    # The limit is the render worker's own setting; this process (the web side) keeps the default.
    with Workers(count=1, env={"CANDOR_RENDER_TIME_LIMIT_S": "2"}) as workers:
        render_id = render_submit(api, consented_portrait)
        failed = render_wait(api, render_id, until=lambda body: body["status"] in FINISHED, timeout_s=120)
        assert failed["status"] == "failed", (failed, workers.log_text())
        assert failed["error"] == "the render exceeded its time budget of 2 s and was stopped", workers.log_text()
        assert failed["video_url"] is None
        # The worker is still there for the next job.
        assert all(process.poll() is None for process in workers.processes)
    assert not video_path(render_id).exists()
    assert not [path for path in video_path(render_id).parent.glob(f"*{render_id}*")]
