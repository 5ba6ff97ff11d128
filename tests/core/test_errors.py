"""Error codes are one vocabulary: every code the engine or the apps raise is an ErrorCode, published and documented."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.errors import ApplicationError, ErrorCode

ROOT = Path(__file__).resolve().parents[2]


def _engine_codes() -> set[str]:
    """The code strings `InferenceError(...)` is raised with anywhere in the engine."""
    codes = set()
    for path in (ROOT / "inference").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "InferenceError"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                codes.add(node.args[0].value)
    return codes


def test_every_engine_error_code_is_an_error_code_so_the_api_can_answer_it():
    codes = _engine_codes()
    assert len(codes) > 10
    assert codes <= {code.value for code in ErrorCode}


def test_an_application_error_takes_its_code_default_status_unless_told_otherwise():
    assert ApplicationError(ErrorCode.TOO_LARGE, "big").status_code == 413
    assert ApplicationError(ErrorCode.LINK_EXPIRED, "old").status_code == 410
    assert ApplicationError(ErrorCode.LINK_EXPIRED, "old", status_code=404).status_code == 404
    assert ApplicationError("identity_mismatch", "no").code is ErrorCode.IDENTITY_MISMATCH
    with pytest.raises(ValueError):
        ApplicationError("not_a_code", "never")


@pytest.mark.django_db
def test_the_openapi_schema_publishes_every_code_as_the_error_enum(client):
    schema = client.get("/api/schema/?format=json").json()
    assert schema["components"]["schemas"]["Error"]["properties"]["error"]["enum"] == [c.value for c in ErrorCode]


def test_the_api_docs_table_lists_every_code_with_its_status():
    table = (ROOT / "docs" / "api.md").read_text()
    for code in ErrorCode:
        assert f"| `{code.value}` | {code.http_status} |" in table, code


@pytest.mark.django_db
def test_an_api_refusal_answers_with_the_code_as_a_plain_string(public_api):
    response = public_api.get("/api/consent/no-such-token/")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "this consent link does not exist"}
