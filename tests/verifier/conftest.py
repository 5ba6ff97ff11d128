"""The verifier's tests use the same real, tiny MP4s as provenance's, and one real render made by the pipeline per
module."""

import pytest

from tests.helpers import module_render
from tests.provenance.conftest import remux_mp4, sample_mp4

__all__ = ["remux_mp4", "sample_mp4"]

RENDER_SERIAL = 31_415_926
GREETING = "Hello there, nice to meet you."


@pytest.fixture(scope="module")
def render(django_db_setup, django_db_blocker, portrait_jpeg):
    """One finished render made by the real pipeline (labelled, watermarked, fingerprinted, signed), shared read-only by
    this module. Per module, not per run: it is committed outside the tests' transactions, and a run-long one would
    still be in the database when the transactional tests (run last) count consents.
    """
    with module_render(
        django_db_blocker, portrait_jpeg, username="verifier-owner", text=GREETING, serial=RENDER_SERIAL
    ) as done:
        yield done
