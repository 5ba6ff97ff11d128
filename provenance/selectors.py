"""Reads of what provenance keeps: the manifest stores a soft-binding lookup may return."""

from __future__ import annotations

import uuid

from .models import RenderManifest


def render_manifests_by_soft_binding(*, alg: str, value: str, limit: int) -> list[RenderManifest]:
    return list(
        RenderManifest.objects.filter(soft_binding_alg=alg, soft_binding_value=value).order_by("created_at")[:limit]
    )


def render_manifest_by_id(*, manifest_id: str) -> RenderManifest | None:
    return RenderManifest.objects.filter(manifest_id=manifest_id).first()


def render_manifest_of_render(*, render_id: uuid.UUID) -> RenderManifest | None:
    return RenderManifest.objects.filter(render_id=render_id).first()
