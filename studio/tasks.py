"""Celery tasks: thin wrappers that load by id and call a service; failure marking lives in the base class."""

from __future__ import annotations

import logging

from celery import Task, shared_task

logger = logging.getLogger(__name__)


class RenderTask(Task):
    """Marks the render failed (with a reason a user can read) when the task crashes."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        from .services import render_mark_failed

        logger.error("render task %s crashed: %s", task_id, exc, exc_info=einfo.exc_info)
        render_mark_failed(render_id=args[0], reason="the render failed unexpectedly; please try again")


@shared_task(base=RenderTask, acks_late=True)
def render_run_task(render_id: str) -> None:
    from .services import render_run

    render_run(render_id=render_id)
