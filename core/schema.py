"""OpenAPI additions: the error body every endpoint answers with, its `error` field an enum of every ErrorCode."""

from __future__ import annotations

from typing import Any

from .errors import ErrorCode


def error_component(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular post-processing hook: publish the `Error` schema with the code vocabulary."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = {
        "type": "object",
        "description": "Every refusal: a stable code for clients and a sentence for people.",
        "properties": {
            "error": {"type": "string", "enum": [code.value for code in ErrorCode]},
            "detail": {"type": "string"},
            "fields": {"type": "object", "description": "per-field messages, for validation errors"},
        },
        "required": ["error", "detail"],
    }
    return result
