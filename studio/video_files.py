"""What the video pages show of one render, and its files (video, captions, thumbnail) served while it may be watched:
one set of helpers for the creator's pages and the public share pages."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponseForbidden
from django.urls import reverse

from core.http import file_response_ranged

from . import captions, selectors
from .models import Render
from .voices import render_voice_name


def video_context(item: Render) -> dict:
    return {
        "r": item,
        "unavailable": video_unavailable(item),
        "voice_name": render_voice_name(item),
        "has_captions": captions_exist(item),
        "has_srt": captions_exist(item, "srt"),
        "video_url": reverse("render-video", args=[item.id]),
        "captions_url": reverse("render-captions", args=[item.id]),
        "srt_url": reverse("render-captions-srt", args=[item.id]),
        "thumbnail_url": reverse("render-thumbnail", args=[item.id]) if item.thumbnail else "",
    }


def video_unavailable(item: Render) -> str:
    """Why the video cannot be shown, as a sentence, or "" when it can."""
    refusal = selectors.render_video_unavailable(item)
    return "" if refusal is None else refusal.detail[0].upper() + refusal.detail[1:] + "."


def captions_exist(item: Render, caption_format: str = "vtt") -> bool:
    return default_storage.exists(captions.captions_name(item.id, caption_format))


def video_file_response(request, item: Render):
    unavailable = video_unavailable(item)
    if unavailable:
        return HttpResponseForbidden(unavailable)
    return file_response_ranged(
        request,
        item.video,
        content_type="video/mp4",
        as_attachment="download" in request.GET,
        filename=f"candor-{item.id}.mp4",
    )


_CAPTION_CONTENT_TYPES = {"vtt": "text/vtt; charset=utf-8", "srt": "application/x-subrip; charset=utf-8"}


def captions_file_response(request, item: Render, caption_format: str = "vtt"):
    unavailable = video_unavailable(item)
    if unavailable:
        return HttpResponseForbidden(unavailable)
    if not captions_exist(item, caption_format):
        raise Http404("this video has no captions")
    return FileResponse(
        default_storage.open(captions.captions_name(item.id, caption_format), "rb"),
        content_type=_CAPTION_CONTENT_TYPES[caption_format],
        as_attachment="download" in request.GET,
        filename=f"candor-{item.id}.{caption_format}",
    )


def thumbnail_file_response(item: Render):
    """The library picture, shown only while the video itself may be (a frame shows the face)."""
    unavailable = video_unavailable(item)
    if unavailable:
        return HttpResponseForbidden(unavailable)
    if not item.thumbnail:
        raise Http404("this video has no thumbnail")
    return FileResponse(item.thumbnail.open("rb"), content_type="image/jpeg")


def share_extras(request, token: str) -> dict:
    """The embed snippet and the verifier link of a share link, with absolute URLs (they are pasted elsewhere)."""
    share_url = request.build_absolute_uri(reverse("shared", args=[token]))
    embed_url = request.build_absolute_uri(reverse("shared-embed", args=[token]))
    return {
        "embed_code": (
            f'<iframe src="{embed_url}" width="640" height="360" title="AI-generated video made with Candor" '
            'allow="fullscreen" style="border:0;max-width:100%"></iframe>'
        ),
        "verify_share_url": f"{reverse('verify')}?{urlencode({'url': share_url})}",
    }
