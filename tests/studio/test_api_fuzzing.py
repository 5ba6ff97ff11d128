"""Schemathesis drives every operation of the OpenAPI schema with generated input: never a 5xx, never off-schema."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from config.wsgi import application

# Bounded for CI: examples per operation (override with CANDOR_FUZZ_EXAMPLES for a longer hunt).
MAX_EXAMPLES = int(os.environ.get("CANDOR_FUZZ_EXAMPLES", "15"))

# Loading the schema needs no database: drf-spectacular builds it from the code.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
# Valid and deliberately invalid input alike (wrong types, missing fields, values out of range).
schema.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])


@pytest.fixture(autouse=True)
def requests_share_the_test_transaction(db):
    # As Django's own test client does: the requests run in the test's transaction, so they must not close it.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(creator) -> str:
    from studio.accounts import creator_token_rotate

    return creator_token_rotate(user=creator)


@schema.parametrize()
@hypothesis_settings(
    max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
def test_no_generated_request_gets_a_server_error_or_an_off_schema_answer(case, token):
    case.call_and_validate(
        headers={"Authorization": f"Token {token}"},
        checks=[not_a_server_error, content_type_conformance, response_schema_conformance],
    )
