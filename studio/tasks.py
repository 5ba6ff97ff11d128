"""Celery tasks: thin wrappers that load by id and call a service; failure marking lives in the base class."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from celery.exceptions import TimeLimitExceeded
from django.conf import settings

logger = logging.getLogger(__name__)


class RenderTask(Task):
    """Marks the render failed (with a reason a user can read) when the task crashes or is killed at its hard time
    limit (render_run stops itself at the budget; this is for native code that never returned)."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        from .services import RenderOverBudget, render_mark_failed

        if isinstance(exc, TimeLimitExceeded):
            reason = str(RenderOverBudget.of_time())
        else:
            reason = "the render failed unexpectedly; please try again"
        logger.error("render task %s failed: %r", task_id, exc, exc_info=einfo.exc_info if einfo else None)
        render_mark_failed(render_id=args[0], reason=reason)


@shared_task(
    base=RenderTask,
    acks_late=True,
    # render_run stops at CANDOR_RENDER_TIME_LIMIT_S itself, where it reports progress (no soft limit: see
    # _ProgressReporter); native code (encoder, face model) that does not return by then is killed 30 s later.
    time_limit=settings.CANDOR_RENDER_TIME_LIMIT_S + 30,
)
def render_run_task(render_id: str) -> None:
    from .services import render_run, worker_thread_deprioritize

    worker_thread_deprioritize(niceness=settings.CANDOR_RENDER_NICENESS)
    render_run(render_id=render_id)


@shared_task
def uploads_abandoned_delete_task() -> None:
    from .services import uploads_abandoned_delete

    uploads_abandoned_delete()


@shared_task
def renders_undispatched_dispatch_task() -> None:
    from .services import renders_undispatched_dispatch

    renders_undispatched_dispatch()
