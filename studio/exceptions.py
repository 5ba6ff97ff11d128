"""One error type for business rules, and the one DRF handler that turns every error into {"error", "detail"}."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """A refusal a user can act on: `code` is stable for clients, `detail` is for people."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        retry_after_s: int | None = None,
    ):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status_code = status_code
        self.retry_after_s = retry_after_s  # sent as Retry-After


_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "parse_error",
    exceptions.ValidationError: "invalid",
}


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{field}: {_flatten(value)}" for field, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(item) for item in detail)
    return str(detail)


def api_exception_handler(exc, context):
    # Django refuses oversized bodies while DRF parses them; answer in the API's shape, not Django's HTML 400.
    if isinstance(exc, RequestDataTooBig):
        exc = ApplicationError("too_large", "the request body is larger than the server accepts", status_code=413)
    elif isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        exc = ApplicationError("invalid", "the request has too many fields or files")
    if isinstance(exc, ApplicationError):
        headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s is not None else None
        return Response({"error": exc.code, "detail": exc.detail}, status=exc.status_code, headers=headers)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = next((name for cls, name in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    response.data = {"error": code, "detail": _flatten(exc.detail)}
    if isinstance(exc, exceptions.ValidationError):
        response.data["fields"] = exc.detail
    return response
