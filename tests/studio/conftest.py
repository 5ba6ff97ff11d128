"""Fixtures of the creator-app tests, shared with the production-mode group."""

from tests.production.conftest import consented_portrait  # noqa: F401
