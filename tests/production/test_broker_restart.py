"""Redis killed (SIGKILL) while renders are queued, running or being submitted: every render still finishes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.conf import settings

from config.celery import app
from studio.accounts import creator_token_rotate
from studio.models import Render
from studio.services import render_enqueue
from studio.tasks import render_run_task
from tests.production.conftest import _free_port
from tests.production.workers import Workers, worker_database_url

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SHORT_TEXT = "Hello there, this is a short message for you."


def test_queued_renders_survive_a_redis_crash_and_restart(creator, consented_portrait, redis_server):
    with Workers(count=2, broker_url=redis_server.url) as workers:
        renders = [
            render_enqueue(
                owner=creator,
                portrait=consented_portrait,
                purpose="marketing",
                text=SHORT_TEXT,
                language="en",
                dispatch=False,
            )
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


def test_a_render_submitted_while_redis_is_down_is_accepted_and_queued_once_it_is_back(
    creator, consented_portrait, redis_server
):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CANDOR_DATA_DIR": str(settings.DATA_DIR),
        "DATABASE_URL": worker_database_url(),
        "CELERY_BROKER_URL": redis_server.url,
        "CANDOR_LOCAL_HTTP": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    port = _free_port()
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "120",
        ],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        redis_server.kill()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/renders/",
            method="POST",
            data=json.dumps(
                {"portrait": str(consented_portrait.id), "purpose": "marketing", "text": SHORT_TEXT, "language": "en"}
            ).encode(),
            headers={
                "Authorization": f"Token {creator_token_rotate(user=creator)}",
                "Content-Type": "application/json",
            },
        )
        deadline = time.monotonic() + 60
        while True:  # until gunicorn listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.3)
        with urllib.request.urlopen(request, timeout=90) as response:
            assert response.status == 202
            render_id = json.loads(response.read())["id"]
    finally:
        web.terminate()
        web.wait(timeout=30)
    render = Render.objects.get(id=render_id)
    assert render.status == Render.Status.QUEUED and render.dispatched_at is None

    redis_server.start()
    with Workers(count=1, broker_url=redis_server.url) as workers:
        sweep = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                "from studio.services import renders_undispatched_dispatch; "
                "print(renders_undispatched_dispatch(older_than_s=0))",
            ],
            env=env,
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert sweep.returncode == 0 and sweep.stdout.strip().splitlines()[-1] == "1", sweep.stderr
        deadline = time.monotonic() + 120
        while Render.objects.get(id=render_id).status in (Render.Status.QUEUED, Render.Status.RUNNING):
            assert time.monotonic() < deadline, workers.log_text()
            time.sleep(0.3)
    render.refresh_from_db()
    assert render.status == Render.Status.DONE and render.dispatched_at is not None
