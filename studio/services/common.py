"""What the creator services share: limits, the two ways a render stops early, upload reading."""

from __future__ import annotations

from django.conf import settings

from core.errors import ApplicationError, ErrorCode
from inference.errors import InferenceError

PORTRAIT_MAX_SIDE = 1600
PROGRESS_WRITE_INTERVAL_S = 0.5
IDEMPOTENCY_KEY_MAX_CHARS = 100
# Language versions one localization may queue at once.
LOCALIZATION_MAX_VERSIONS = 20
MEDIA_FOLDERS = ("portraits", "audio", "videos", "thumbnails")
PREVIEW_SECONDS = 1.0


class RenderCancelled(Exception):
    """Raised inside the pipeline when the render or its consent was withdrawn."""


class RenderOverBudget(Exception):
    """Raised inside the pipeline when the render runs past CANDOR_RENDER_TIME_LIMIT_S or holds more memory than
    CANDOR_RENDER_MEMORY_LIMIT_MB; its message is the reason the render shows."""

    @classmethod
    def of_time(cls) -> RenderOverBudget:
        return cls(f"the render exceeded its time budget of {settings.CANDOR_RENDER_TIME_LIMIT_S} s and was stopped")


def read_upload(upload, *, max_bytes: int, what: str) -> bytes:
    if upload is None:
        raise ApplicationError(ErrorCode.INVALID, f"the {what} file is missing")
    if upload.size > max_bytes:
        raise ApplicationError(
            ErrorCode.TOO_LARGE,
            f"the {what} is {upload.size / 1e6:.1f} MB; at most {max_bytes / 1e6:.0f} MB is accepted",
        )
    data = upload.read()
    if not data:
        code = ErrorCode.UNSUPPORTED_IMAGE if what == "image" else ErrorCode.INVALID_AUDIO
        raise ApplicationError(code, f"the {what} file is empty")
    return data


def as_application_error(error: InferenceError) -> ApplicationError:
    return ApplicationError(ErrorCode(error.code), error.detail)
