"""A render over its memory budget, or one whose workers keep dying, is failed with the reason instead of going on."""

from __future__ import annotations

import pytest

from studio.models import Render
from studio.services import render_enqueue, render_run
from tests.production.helpers import video_path

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
