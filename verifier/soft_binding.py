"""Candor as a C2PA manifest repository: the answers of the Soft Binding Resolution API.

A render's MP4 carries its signed manifest, which re-encoding and most uploads strip; the invisible watermark
survives, and the manifest's `c2pa.soft-binding` assertion names it. Any C2PA-aware client can then get the manifest
store back: by the watermark's value (`matches/byBinding`), by sending the video itself (`matches/byContent`, which
reads the watermark here, because its key is Candor's), then `manifests/{manifestId}`.

A render whose portrait was erased has no stored manifest: the repository answers for it exactly as for a render it
never had. A revoked consent changes nothing here: the manifest is a signed statement of what was made and when, it
names no one, and it tells whoever holds a copy that the video is AI-generated.
"""

from __future__ import annotations

import base64
import binascii
import uuid

from django.core.files.uploadedfile import UploadedFile

from core.errors import ApplicationError, ErrorCode
from provenance import c2pa_manifest, watermark
from provenance.selectors import (
    render_manifest_by_id,
    render_manifest_of_render,
    render_manifests_by_soft_binding,
)

from .services import upload_verify

# The API's default for maxResults, and the most this repository returns (one render per watermark value anyway).
MAX_RESULTS_DEFAULT = 10
MAX_RESULTS_LIMIT = 100
# c2pa writes labels as urn:c2pa:<uuid>[:generator[:version]]; older stores, urn:uuid:<uuid>.
MANIFEST_ID_MAX_LENGTH = 200
MANIFEST_ID_PREFIXES = ("urn:c2pa:", "urn:uuid:")


def supported_algorithms() -> dict:
    """The `services/supportedAlgorithms` answer: Candor's watermark; no fingerprint is offered for lookup."""
    return {"watermarks": [{"alg": watermark.ALGORITHM}], "fingerprints": []}


def max_results_parse(raw: str | None) -> int:
    if raw is None or raw == "":
        return MAX_RESULTS_DEFAULT
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_RESULTS_LIMIT:
        raise ApplicationError(ErrorCode.INVALID, f"maxResults must be a whole number from 1 to {MAX_RESULTS_LIMIT}")
    return value


def _algorithm_check(alg: str) -> None:
    if alg != watermark.ALGORITHM:
        raise ApplicationError(
            ErrorCode.UNSUPPORTED_ALGORITHM,
            f"this repository resolves only the soft-binding algorithm {watermark.ALGORITHM!r}, not {alg!r}",
        )


def matches_by_binding(*, alg: str, value: str, max_results: int) -> list[dict]:
    """The manifests whose soft-binding assertion carries this algorithm and value (base64, as in the assertion)."""
    _algorithm_check(alg)
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ApplicationError(ErrorCode.INVALID, "value must be the soft binding's value in base64") from error
    stored = render_manifests_by_soft_binding(alg=alg, value=value, limit=max_results)
    return [{"manifestId": manifest.manifest_id} for manifest in stored]


def matches_by_content(*, upload: UploadedFile, alg: str, max_results: int) -> list[dict]:
    """The manifest of the render this video is, as the verifier decides it (watermark and picture, or its manifest).

    A watermark copied onto other content names no render (the verifier's content check), so it matches nothing.
    """
    if alg:
        _algorithm_check(alg)
    report = upload_verify(upload=upload)
    if report.verdict != "candor_generated" or report.render is None:
        return []
    manifest = render_manifest_of_render(render_id=uuid.UUID(report.render["id"]))
    return [{"manifestId": manifest.manifest_id}][:max_results] if manifest is not None else []


def manifest_store_get(*, manifest_id: str, active_manifest_only: bool = False) -> bytes:
    """The manifest store exactly as signed into the render's MP4 (or, on request, only its active manifest)."""
    if len(manifest_id) > MANIFEST_ID_MAX_LENGTH or not manifest_id.startswith(MANIFEST_ID_PREFIXES):
        raise ApplicationError(ErrorCode.INVALID, "a manifest id is a C2PA manifest label: urn:c2pa:<uuid>")
    manifest = render_manifest_by_id(manifest_id=manifest_id)
    if manifest is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "no manifest with this id is kept here")
    store = bytes(manifest.store)
    return c2pa_manifest.active_manifest_jumbf(store) if active_manifest_only else store
