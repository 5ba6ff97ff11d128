"""The public pages of a share link: the page itself (Open Graph tags, embed code, verify button), the embed view, and
its files."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from core.errors import ApplicationError

from . import sharing
from .models import Render
from .video_files import (
    captions_file_response,
    share_extras,
    thumbnail_file_response,
    video_context,
    video_file_response,
)


def _shared_render(token: str) -> Render:
    try:
        return sharing.render_for_share_token(token=token)
    except ApplicationError as error:
        raise Http404(error.detail) from error


def _shared_context(request, token: str) -> dict:
    item = _shared_render(token)
    return {
        **video_context(item),
        **share_extras(request, token),
        "token": token,
        "share_url": request.build_absolute_uri(reverse("shared", args=[token])),
        "video_url": reverse("shared-video", args=[token]),
        "captions_url": reverse("shared-captions", args=[token]),
        "srt_url": reverse("shared-captions-srt", args=[token]),
        "thumbnail_url": reverse("shared-thumbnail", args=[token]) if item.thumbnail else "",
        "video_absolute_url": request.build_absolute_uri(reverse("shared-video", args=[token])),
        "thumbnail_absolute_url": (
            request.build_absolute_uri(reverse("shared-thumbnail", args=[token])) if item.thumbnail else ""
        ),
    }


@require_GET
def shared_page(request, token):
    """The public page of a share link: the video, said to be AI-generated, with a way to verify it, an embed snippet
    and Open Graph tags for link previews."""
    context = _shared_context(request, token)
    return render(request, "studio/shared.html", context, status=403 if context["unavailable"] else 200)


@require_GET
@xframe_options_exempt
def shared_embed(request, token):
    """The player alone with its AI-generated badge, for other sites' <iframe>s (the one page that may be framed)."""
    context = _shared_context(request, token)
    return render(request, "studio/shared_embed.html", context, status=403 if context["unavailable"] else 200)


@require_GET
def shared_captions_srt(request, token):
    return captions_file_response(request, _shared_render(token), "srt")


@require_GET
def shared_thumbnail(request, token):
    return thumbnail_file_response(_shared_render(token))


@require_GET
def shared_video(request, token):
    return video_file_response(request, _shared_render(token))


@require_GET
def shared_captions(request, token):
    return captions_file_response(request, _shared_render(token))
