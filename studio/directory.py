"""The renders this app publishes to the verifier and to the person pictured's pages (neither may import studio):
registered at start-up.
"""

from __future__ import annotations

import uuid

from consent.videos import VideoMade
from verifier.directory import RenderRecord

from .models import Render
from .sharing import render_for_share_token


def _record(render: Render) -> RenderRecord:
    fingerprint = getattr(render, "fingerprint", None)
    return RenderRecord(
        id=render.id,
        created_at=render.created_at,
        consent=render.consent,
        fingerprint=fingerprint.as_fingerprint() if fingerprint is not None else None,
        video=render.video or None,
        tracks=fingerprint.as_tracks() if fingerprint is not None else None,
    )


class StudioRenderDirectory:
    def _renders(self):
        return Render.objects.select_related("consent__portrait", "fingerprint")

    def render_by_id(self, render_id: uuid.UUID) -> RenderRecord | None:
        render = self._renders().filter(id=render_id).first()
        return _record(render) if render is not None else None

    def render_by_watermark_serial(self, serial: int) -> RenderRecord | None:
        render = self._renders().filter(watermark_serial=serial).first()
        return _record(render) if render is not None else None

    def render_by_share_token(self, token: str) -> RenderRecord:
        return _record(render_for_share_token(token=token))


class StudioVideoDirectory:
    def videos_of_portrait(self, portrait_id: uuid.UUID) -> list[VideoMade]:
        return [
            VideoMade(
                made_at=render.created_at,
                status=render.status,
                purpose=render.purpose,
                language=render.language,
                labelled=render.label,
            )
            for render in Render.objects.filter(portrait_id=portrait_id).order_by("-created_at")
        ]
