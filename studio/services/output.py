"""What a render's output looks like and how the library shows it: shape checks, titles, thumbnails."""

from __future__ import annotations

import numpy as np
from django.core.files.base import ContentFile

from core.errors import ApplicationError, ErrorCode
from inference import media
from inference.framing import ASPECT_RATIOS, LONG_SIDE_MAX, LONG_SIDE_MIN, OutputShape, colour_parse

from ..models import TITLE_MAX_CHARS, Portrait, Render

# The library card's picture: small enough to load a page of them at once.
THUMBNAIL_LONG_SIDE = 480


def output_shape_checked(*, aspect_ratio: str, long_side: int | None, background: str) -> OutputShape:
    """The output shape asked for, or an INVALID refusal that says what is allowed."""
    if aspect_ratio not in ASPECT_RATIOS:
        raise ApplicationError(ErrorCode.INVALID, f"the aspect ratio must be one of {', '.join(ASPECT_RATIOS)}")
    if long_side is not None and not LONG_SIDE_MIN <= long_side <= LONG_SIDE_MAX:
        raise ApplicationError(
            ErrorCode.INVALID,
            f"the resolution (long side) must be between {LONG_SIDE_MIN} and {LONG_SIDE_MAX} pixels; "
            f"{long_side} was asked for",
        )
    try:
        colour_parse(background)
    except ValueError as error:
        raise ApplicationError(ErrorCode.INVALID, str(error)) from None
    return OutputShape(aspect=aspect_ratio, long_side=long_side, background=background.lower())


def render_output_shape(render: Render) -> OutputShape:
    return OutputShape(aspect=render.aspect_ratio, long_side=render.long_side, background=render.background)


def title_default(*, text: str, portrait: Portrait) -> str:
    """The script's start, cut at a word near TITLE_MAX_CHARS // 2; a recording's video is named after its person."""
    words = " ".join(text.split())
    if not words:
        return f"Video of {portrait.subject_name}"[:TITLE_MAX_CHARS]
    limit = TITLE_MAX_CHARS // 2
    if len(words) <= limit:
        return words
    return words[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def title_checked(title: str) -> str:
    """The title on one line, or an INVALID refusal when it is too long."""
    title = " ".join(title.split())
    if len(title) > TITLE_MAX_CHARS:
        raise ApplicationError(ErrorCode.INVALID, f"a title is at most {TITLE_MAX_CHARS} characters")
    return title


def render_title_update(*, render: Render, title: str) -> Render:
    """Rename a video in the library; a blank title goes back to the default."""
    render.title = title_checked(title) or title_default(text=render.text, portrait=render.portrait)
    render.save(update_fields=["title"])
    return render


def render_thumbnail_save(*, render: Render, frame: np.ndarray) -> str:
    """Store one published (H, W, 3) RGB frame, scaled to THUMBNAIL_LONG_SIDE, as the render's JPEG thumbnail."""
    import cv2

    height, width = frame.shape[:2]
    scale = min(1.0, THUMBNAIL_LONG_SIDE / max(height, width))
    small = cv2.resize(
        frame, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
    )
    if render.thumbnail:
        render.thumbnail.delete(save=False)
    render.thumbnail.save(f"{render.id}.jpg", ContentFile(media.image_encode_jpeg(small, quality=85)), save=False)
    return str(render.thumbnail.name)
