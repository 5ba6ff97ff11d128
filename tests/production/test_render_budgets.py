"""A render over its memory budget, or one whose workers keep dying, is failed with the reason instead of going on."""

from __future__ import annotations

import pytest

from studio.models import Render
from studio.services import render_enqueue, render_run
from tests.production.helpers import LONG_TEXT, video_path

pytestmark = pytest.mark.django_db

SHORT_TEXT = "Hello there, this is a short message for you."


def _queued(creator, portrait) -> Render:
    return render_enqueue(
        owner=creator, portrait=portrait, purpose="marketing", text=SHORT_TEXT, language="en", dispatch=False
    )


def test_a_render_over_its_memory_budget_is_stopped_and_marked_failed(creator, consented_portrait, settings):
    settings.CANDOR_RENDER_MEMORY_LIMIT_MB = 64  # far below what the engine's models alone take
    render = _queued(creator, consented_portrait)
    render_run(render_id=render.id)
    render.refresh_from_db()
    assert render.status == Render.Status.FAILED
    assert render.error.startswith("the render exceeded its memory budget of 64 MB (") and render.error.endswith(
        "MB in use) and was stopped"
    )
    assert not render.video and not list(video_path(str(render.id)).parent.glob(f"*{render.id}*"))


def test_a_render_over_its_time_budget_stops_itself_where_it_reports_progress(creator, consented_portrait, settings):
    """The budget is checked between database calls (no signal interrupts a query), and the render's files go."""
    settings.CANDOR_RENDER_TIME_LIMIT_S = 1  # a 30-second text takes several seconds
    render = render_enqueue(
        owner=creator, portrait=consented_portrait, purpose="marketing", text=LONG_TEXT, language="en", dispatch=False
    )
    reported = []
    render_run(render_id=render.id, on_progress=reported.append)
    render.refresh_from_db()
    assert (render.status, render.error) == (
        Render.Status.FAILED,
        "the render exceeded its time budget of 1 s and was stopped",
    )
    assert not render.video and not list(video_path(str(render.id)).parent.glob(f"*{render.id}*"))
    assert reported, "it stopped at a progress report, not before the render began"
    settings.CANDOR_RENDER_TIME_LIMIT_S = 900
    again = _queued(creator, consented_portrait)
    assert render_run(render_id=again.id).status == Render.Status.DONE, "the process and its connection go on"


def test_a_render_whose_worker_died_too_often_is_given_up(creator, consented_portrait, settings):
    render = _queued(creator, consented_portrait)
    Render.objects.filter(id=render.id).update(
        status=Render.Status.RUNNING, attempts=settings.CANDOR_RENDER_MAX_ATTEMPTS
    )
    render_run(render_id=render.id)
    render.refresh_from_db()
    assert render.status == Render.Status.FAILED
    assert render.error.startswith(f"the render was interrupted {settings.CANDOR_RENDER_MAX_ATTEMPTS} times")


def test_a_redelivered_render_runs_again_and_counts_the_attempt(creator, consented_portrait):
    render = _queued(creator, consented_portrait)
    Render.objects.filter(id=render.id).update(status=Render.Status.RUNNING, attempts=1, progress=0.4)
    render_run(render_id=render.id)
    render.refresh_from_db()
    assert render.status == Render.Status.DONE, render.error
    assert render.attempts == 2
