"""Redis killed (SIGKILL) and restarted while renders are queued and running: every render still finishes."""

from __future__ import annotations

import time

import pytest

from studio.celery import app
from studio.models import Render
from studio.services import render_enqueue
from studio.tasks import render_run_task
from tests.production.workers import Workers

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SHORT_TEXT = "Hello there, this is a short message for you."


def test_queued_renders_survive_a_redis_crash_and_restart(creator, consented_portrait, redis_server):
    with Workers(count=2, broker_url=redis_server.url) as workers:
        renders = [
            render_enqueue(owner=creator, portrait=consented_portrait, purpose="marketing", text=SHORT_TEXT, language="en", dispatch=False)
            for _ in range(5)
        ]
        with app.connection_for_write(redis_server.url) as connection:
            for render in renders:
                render_run_task.apply_async(args=[str(render.id)], connection=connection)

        deadline = time.monotonic() + 60
        while not Render.objects.filter(status=Render.Status.RUNNING).exists():
            assert time.monotonic() < deadline, workers.log_text()
            time.sleep(0.1)
        queued_at_crash = Render.objects.filter(status=Render.Status.QUEUED).count()
        assert queued_at_crash >= 2, "the crash should find renders still waiting in the queue"
        redis_server.kill()
        time.sleep(2)
        redis_server.start()

        deadline = time.monotonic() + 240
        while Render.objects.filter(status__in=[Render.Status.QUEUED, Render.Status.RUNNING]).exists():
            assert time.monotonic() < deadline, (list(Render.objects.values("status", "progress")), workers.log_text())
            time.sleep(0.5)
    assert sorted(Render.objects.values_list("status", flat=True)) == ["done"] * 5
