"""Renders run at a lower CPU priority than the web server, so pages stay quick on a machine that also renders, and
without OpenCV's thread pool on top of their own threads."""

import os
import threading

import cv2
import pytest

from consent.models import Consent
from studio.models import Render
from studio.services import render_enqueue, render_run
from studio.tasks import render_run_task

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(work):
    """Run work() in a fresh thread; return (its result, that thread's nice value afterwards)."""
    seen = {}

    def run():
        seen["result"] = work()
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return seen["result"], seen["nice"]


def test_a_render_task_lowers_its_own_priority_and_leaves_the_rest_alone(creator, consented_portrait, settings):
    settings.CANDOR_RENDER_NICENESS = 7
    render = render_enqueue(
        owner=creator, portrait=consented_portrait, purpose="marketing", text="Hello.", language="en", dispatch=False
    )
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    status, nice = _in_thread(lambda: (render_run_task(str(render.id)), Render.objects.get(id=render.id).status)[1])
    assert status == Render.Status.DONE
    assert nice == max(before, 7)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before


def test_niceness_zero_leaves_render_priority_unchanged(creator, consented_portrait, settings):
    settings.CANDOR_RENDER_NICENESS = 0
    render = render_enqueue(
        owner=creator, portrait=consented_portrait, purpose="marketing", text="Hi.", language="en", dispatch=False
    )
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    _, nice = _in_thread(lambda: render_run_task(str(render.id)))
    assert nice == before


def test_a_render_runs_opencv_on_one_thread_and_gives_the_process_its_threads_back(creator, consented_portrait):
    cv2.setNumThreads(2)
    seen = []
    render = render_enqueue(
        owner=creator, portrait=consented_portrait, purpose="marketing", text="Hello.", language="en", dispatch=False
    )
    done = render_run(render_id=render.id, on_progress=lambda _: seen.append(cv2.getNumThreads()))
    assert done.status == Render.Status.DONE
    assert seen and set(seen) == {1}
    assert cv2.getNumThreads() == 2

    # A render stopped half-way (its consent revoked once it has begun) gives them back too.
    stopped = render_enqueue(
        owner=creator, portrait=consented_portrait, purpose="marketing", text="Hello.", language="en", dispatch=False
    )

    def revoke(_progress):
        consented_portrait.consents.update(status=Consent.Status.REVOKED)

    assert render_run(render_id=stopped.id, on_progress=revoke).status == Render.Status.CANCELLED
    assert cv2.getNumThreads() == 2
