"""Error codes as one vocabulary, one error type for business rules, and the one DRF handler for every error.

Every refusal a client can see has an `ErrorCode`; each code carries the HTTP status it is answered with unless
the raiser says otherwise (a link that expired is 404 on a share page and 410 on a consent link). The codes are
published in the OpenAPI schema (the `error` field of the error component) and in docs/api.md.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ErrorCode(StrEnum):
    """A stable code for clients; `http_status` is the status it is answered with by default."""

    http_status: int

    def __new__(cls, value: str, http_status: int = 400) -> ErrorCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.http_status = http_status
        return member

    # Requests the server cannot take as sent.
    INVALID = "invalid", 400
    PARSE_ERROR = "parse_error", 400
    TOO_LARGE = "too_large", 413
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type", 415
    NOT_ACCEPTABLE = "not_acceptable", 406
    METHOD_NOT_ALLOWED = "method_not_allowed", 405
    NOT_FOUND = "not_found", 404
    NOT_AUTHENTICATED = "not_authenticated", 401
    AUTHENTICATION_FAILED = "authentication_failed", 401
    PERMISSION_DENIED = "permission_denied", 403
    THROTTLED = "throttled", 429
    SERVICE_UNAVAILABLE = "service_unavailable", 503
    ERROR = "error", 400
    # Portraits, audio, text and video the engine cannot use.
    UNSUPPORTED_IMAGE = "unsupported_image", 400
    NO_FACE = "no_face", 400
    MULTIPLE_FACES = "multiple_faces", 400
    INVALID_AUDIO = "invalid_audio", 400
    SILENT_AUDIO = "silent_audio", 400
    AUDIO_TOO_LONG = "audio_too_long", 400
    INVALID_VIDEO = "invalid_video", 400
    NO_FRAMES = "no_frames", 400
    INVALID_FRAMES = "invalid_frames", 400
    VIDEO_TOO_LARGE = "video_too_large", 413
    VIDEO_TOO_LONG = "video_too_long", 413
    TOO_COSTLY = "too_costly", 413
    EMPTY_TEXT = "empty_text", 400
    TEXT_TOO_LONG = "text_too_long", 400
    TRANSCRIPT_TOO_LONG = "transcript_too_long", 400
    UNKNOWN_LANGUAGE = "unknown_language", 400
    UNKNOWN_VOICE = "unknown_voice", 400
    # The natural voice's model is not the pinned one: the server's installation is at fault, not the request.
    VOICE_UNAVAILABLE = "voice_unavailable", 503
    INVALID_EXPRESSION = "invalid_expression", 400
    INVALID_FPS = "invalid_fps", 400
    INVALID_RATE = "invalid_rate", 400
    INVALID_DEVICE = "invalid_device", 400
    DEVICE_UNAVAILABLE = "device_unavailable", 400
    # The engine's face models are missing or damaged: also the installation's fault.
    ENGINE_UNAVAILABLE = "engine_unavailable", 503
    INVALID_NEURAL_MODEL = "invalid_neural_model", 400
    NEURAL_MODEL_FAILED = "neural_model_failed", 400
    # Renders and their consent.
    CONSENT_REQUIRED = "consent_required", 403
    CONSENT_WITHDRAWN = "consent_withdrawn", 403
    # A video without the visible AI label, where the person pictured did not allow that.
    LABEL_REQUIRED = "label_required", 403
    LANGUAGE_UNVERIFIED = "language_unverified", 400
    INVALID_SCOPE = "invalid_scope", 400
    PORTRAIT_ERASED = "portrait_erased", 400
    NOT_READY = "not_ready", 409
    # Consent links and the live capture.
    LINK_UNKNOWN = "link_unknown", 404
    LINK_EXPIRED = "link_expired", 410
    LINK_USED = "link_used", 409
    LINK_LOCKED = "link_locked", 403
    NOT_DECIDED = "not_decided", 409
    CONSENT_TEXT_CHANGED = "consent_text_changed", 409
    LIVENESS_REQUIRED = "liveness_required", 400
    LIVENESS_NO_FACE = "liveness_no_face", 403
    CHALLENGE_MISMATCH = "challenge_mismatch", 400
    CHALLENGE_NOT_ANSWERED = "challenge_not_answered", 403
    LIP_SYNC_FAILED = "lip_sync_failed", 403
    DIGITS_MISMATCH = "digits_mismatch", 403
    IDENTITY_MISMATCH = "identity_mismatch", 403
    CANDOR_GENERATED_CAPTURE = "candor_generated_capture", 403
    CAPTURE_TOO_COSTLY = "capture_too_costly", 413
    CAPTURE_NOT_LIVE = "capture_not_live", 403
    FLASH_NOT_REFLECTED = "flash_not_reflected", 403
    PORTRAIT_COPY = "portrait_copy", 403
    CAPTURE_EXPIRED = "capture_expired", 410
    CAPTURE_CLOSED = "capture_closed", 409
    CHUNK_OUT_OF_ORDER = "chunk_out_of_order", 409
    LIVE_CAPTURE_REQUIRED = "live_capture_required", 400
    PORTRAIT_NEEDS_REVIEW = "portrait_needs_review", 403
    CONSENT_REQUESTS_PAUSED = "consent_requests_paused", 429
    # The do-not-generate registry and its review.
    FACE_OPTED_OUT = "face_opted_out", 403
    FACE_HELD_FOR_REVIEW = "face_held_for_review", 409
    FACE_ALREADY_REGISTERED = "face_already_registered", 409
    ALREADY_REVIEWED = "already_reviewed", 409
    # The verifier.
    FOREIGN_URL = "foreign_url", 400
    INVALID_URL = "invalid_url", 400
    VERIFIER_BUSY = "verifier_busy", 429
    # The C2PA manifest repository (Soft Binding Resolution API).
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm", 400


class ApplicationError(Exception):
    """A refusal a user can act on: `code` is stable for clients, `detail` is for people."""

    def __init__(
        self, code: ErrorCode, detail: str, *, status_code: int | None = None, retry_after_s: int | None = None
    ) -> None:
        super().__init__(detail)
        self.code = ErrorCode(code)
        self.detail = detail
        self.status_code = status_code if status_code is not None else self.code.http_status
        self.retry_after_s = retry_after_s  # sent as Retry-After


_DRF_CODES: dict[type[exceptions.APIException], ErrorCode] = {
    exceptions.NotAuthenticated: ErrorCode.NOT_AUTHENTICATED,
    exceptions.AuthenticationFailed: ErrorCode.AUTHENTICATION_FAILED,
    exceptions.PermissionDenied: ErrorCode.PERMISSION_DENIED,
    exceptions.NotFound: ErrorCode.NOT_FOUND,
    exceptions.MethodNotAllowed: ErrorCode.METHOD_NOT_ALLOWED,
    exceptions.NotAcceptable: ErrorCode.NOT_ACCEPTABLE,
    exceptions.UnsupportedMediaType: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    exceptions.Throttled: ErrorCode.THROTTLED,
    exceptions.ParseError: ErrorCode.PARSE_ERROR,
    exceptions.ValidationError: ErrorCode.INVALID,
}


def _flatten(detail: Any) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{field}: {_flatten(value)}" for field, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(item) for item in detail)
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error the API answers as {"error": <ErrorCode>, "detail": <sentence>} with a 4xx/5xx status."""
    # Django refuses oversized bodies while DRF parses them; answer in the API's shape, not Django's HTML 400.
    if isinstance(exc, RequestDataTooBig):
        exc = ApplicationError(ErrorCode.TOO_LARGE, "the request body is larger than the server accepts")
    elif isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        exc = ApplicationError(ErrorCode.INVALID, "the request has too many fields or files")
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
    code = next((name for cls, name in _DRF_CODES.items() if isinstance(exc, cls)), ErrorCode.ERROR)
    assert isinstance(exc, exceptions.APIException)
    response.data = {"error": code, "detail": _flatten(exc.detail)}
    if isinstance(exc, exceptions.ValidationError):
        response.data["fields"] = exc.detail
    return response
