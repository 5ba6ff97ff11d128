"""Candor's Django project (settings, urls, Celery) and the creator-facing app."""

from .celery import app as celery_app

__all__ = ["celery_app"]
