"""Celery tasks of the consent app: thin wrappers around services, run by Celery beat."""

from __future__ import annotations

from celery import shared_task


@shared_task
def consent_links_expire_task() -> None:
    from .services import consent_links_expire_due

    consent_links_expire_due()


@shared_task
def consents_expire_task() -> None:
    from .services import consents_expire_due

    consents_expire_due()


@shared_task
def consent_reviews_expire_task() -> None:
    from .services import consent_reviews_expire_due

    consent_reviews_expire_due()
