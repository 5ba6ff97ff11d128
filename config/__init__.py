"""Candor's Django project: settings, URL map, the Celery app, WSGI and the `make run` launcher."""

from .celery import app as celery_app

__all__ = ["celery_app"]
