"""The verifier's tests use the same real, tiny MP4s as provenance's, and one real render made by the pipeline per
module."""

import pytest

from tests.helpers import portrait_with_active_consent
from tests.provenance.conftest import remux_mp4, sample_mp4

__all__ = ["remux_mp4", "sample_mp4"]

RENDER_SERIAL = 31_415_926


@pytest.fixture(scope="module")
def render(django_db_setup, django_db_blocker, portrait_jpeg):
    """One finished render made by the real pipeline (labelled, watermarked, fingerprinted, signed), shared read-only by
    this module. Per module, not per run: it is committed outside the tests' transactions, and a run-long one would
    still be in the database when the transactional tests (run last) count consents.
    """
    from django.contrib.auth import get_user_model

    from studio.models import Render
    from studio.services import render_enqueue, render_run

    with django_db_blocker.unblock():
        owner = get_user_model().objects.create_user(
            username="verifier-owner", email="owner@example.com", password="x-secret-3"
        )
        portrait = portrait_with_active_consent(owner, portrait_jpeg)
        queued = render_enqueue(
            owner=owner,
            portrait=portrait,
            purpose="marketing",
            text="Hello there, nice to meet you.",
            language="en",
            dispatch=False,
        )
        # A fixed serial seeds the animation, so the render (and every distance measured on it) is the same each run.
        Render.objects.filter(id=queued.id).update(watermark_serial=RENDER_SERIAL)
        render_run(render_id=queued.id)
        done = Render.objects.get(id=queued.id)
        assert done.status == Render.Status.DONE, done.error
        yield done
        # Committed outside the per-test transactions, so removed by hand.
        Render.objects.filter(id=done.id).delete()
        owner.delete()
