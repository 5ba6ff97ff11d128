"""Sign rendered MP4s with C2PA Content Credentials and read them back, fully offline."""

from __future__ import annotations

import datetime
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import c2pa

from provenance.keys import SigningMaterial

MP4_MIME = "video/mp4"
GENERATOR_NAME = "Candor"
RENDER_ASSERTION_LABEL = "org.candor.render"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"

# c2pa's summary of a manifest store: "Invalid", "Valid" (signature and hash
# bindings hold) or "Trusted" (Valid and the chain reaches a trust anchor).
VALID_STATES = frozenset({"Valid", "Trusted"})
TRUSTED_STATE = "Trusted"

# Errors the Reader raises only after it found a manifest store it could not
# make sense of: the asset claims provenance, but the claim is broken.
DAMAGED_MANIFEST_ERRORS = (
    c2pa.C2paError.Assertion,
    c2pa.C2paError.AssertionNotFound,
    c2pa.C2paError.Decoding,
    c2pa.C2paError.Json,
    c2pa.C2paError.Manifest,
    c2pa.C2paError.Signature,
    c2pa.C2paError.Verify,
)


@dataclass(frozen=True)
class ManifestReport:
    present: bool
    valid: bool
    trusted: bool
    digital_source_type: str | None
    claim_generator: str | None
    render_id: str | None
    # The signature's timestamp when there is one; Candor signs without a
    # timestamp authority, so otherwise the signed `when` of the c2pa.created action.
    signed_at: str | None
    issues: tuple[str, ...]


def mp4_sign(
    *,
    source: Path,
    destination: Path,
    material: SigningMaterial,
    render_id: str,
    title: str,
    generator_version: str,
    consent_summary: dict | None = None,
) -> None:
    """Embed a signed C2PA manifest declaring source as AI-generated, writing destination atomically."""
    consent_fields = dict(consent_summary or {})
    if "render_id" in consent_fields:
        raise ValueError("consent_summary must not carry its own render_id")
    manifest = {
        "claim_generator_info": [{"name": GENERATOR_NAME, "version": generator_version}],
        "title": title,
        "format": MP4_MIME,
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    # No c2pa.watermarked action: c2pa rejects it unless a
                    # registered soft-binding assertion accompanies it, and
                    # Candor's watermark is not a registered algorithm.
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                            "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                        }
                    ]
                },
            },
            {"label": RENDER_ASSERTION_LABEL, "data": {"render_id": render_id, **consent_fields}},
        ],
    }
    destination = Path(destination)
    fd, tmp_name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".tmp")
    try:
        with (
            os.fdopen(fd, "w+b") as destination_file,
            open(source, "rb") as source_file,
            _context_create(root_certificate_pem=material.root_certificate_pem) as context,
            c2pa.Signer.from_info(
                c2pa.C2paSignerInfo(
                    c2pa.C2paSigningAlg.ES256,
                    material.certificate_chain_pem,
                    material.private_key_pem,
                    None,
                )
            ) as signer,
            c2pa.Builder(manifest, context=context) as builder,
        ):
            builder.sign(signer, MP4_MIME, source_file, destination_file)
            destination_file.flush()
            os.fsync(destination_file.fileno())
        # mkstemp makes the file 0600; signing should not change who may read the video.
        os.chmod(tmp_name, stat.S_IMODE(os.stat(source).st_mode))
        os.replace(tmp_name, destination)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def mp4_read_manifest(*, path: Path, root_certificate_pem: bytes) -> ManifestReport:
    """Report whether path carries a valid C2PA manifest trusted to root_certificate_pem; never raises on bad input."""
    try:
        with (
            _context_create(root_certificate_pem=root_certificate_pem) as context,
            open(path, "rb") as asset,
            c2pa.Reader(MP4_MIME, asset, context=context) as reader,
        ):
            store = json.loads(reader.json())
    except c2pa.C2paError.ManifestNotFound:
        return _report_absent(issues=())
    except DAMAGED_MANIFEST_ERRORS as error:
        return ManifestReport(
            present=True,
            valid=False,
            trusted=False,
            digital_source_type=None,
            claim_generator=None,
            render_id=None,
            signed_at=None,
            issues=(str(error),),
        )
    except c2pa.C2paError as error:
        # Not parseable as an MP4 at all (text, truncated, empty): no claim to judge.
        return _report_absent(issues=(str(error),))

    manifest = store.get("manifests", {}).get(store.get("active_manifest"), {})
    state = store.get("validation_state")
    created = _created_action(manifest=manifest)
    render = _assertion_data(manifest=manifest, label=RENDER_ASSERTION_LABEL)
    return ManifestReport(
        present=True,
        valid=state in VALID_STATES,
        trusted=state == TRUSTED_STATE,
        digital_source_type=created.get("digitalSourceType"),
        claim_generator=_claim_generator(manifest=manifest),
        render_id=render.get("render_id"),
        signed_at=manifest.get("signature_info", {}).get("time") or created.get("when"),
        issues=_issues(store=store),
    )


def _context_create(*, root_certificate_pem: bytes) -> c2pa.Context:
    # Only Candor's own root is a trust anchor. The process-wide load_settings
    # is ignored by Context-based readers, so the trust list must travel here.
    # Network fetches stay off so reading an untrusted upload never phones out.
    settings = c2pa.Settings.from_dict(
        {
            "verify": {"verify_trust": True, "remote_manifest_fetch": False, "ocsp_fetch": False},
            "trust": {"trust_anchors": root_certificate_pem.decode("ascii")},
        }
    )
    with settings:
        return c2pa.Context(settings=settings)


def _report_absent(*, issues: tuple[str, ...]) -> ManifestReport:
    return ManifestReport(
        present=False,
        valid=False,
        trusted=False,
        digital_source_type=None,
        claim_generator=None,
        render_id=None,
        signed_at=None,
        issues=issues,
    )


def _assertion_data(*, manifest: dict, label: str) -> dict:
    for assertion in manifest.get("assertions", []):
        if assertion.get("label") == label:
            return assertion.get("data", {})
    return {}


def _created_action(*, manifest: dict) -> dict:
    for label in ("c2pa.actions.v2", "c2pa.actions"):
        for action in _assertion_data(manifest=manifest, label=label).get("actions", []):
            if action.get("action") == "c2pa.created":
                return action
    return {}


def _claim_generator(*, manifest: dict) -> str | None:
    for info in manifest.get("claim_generator_info", []):
        name = info.get("name")
        if name:
            version = info.get("version")
            return f"{name}/{version}" if version else name
    # v1 claims carry a plain user-agent style string instead.
    return manifest.get("claim_generator")


def _issues(*, store: dict) -> tuple[str, ...]:
    # validation_results splits by manifest; validation_status is the older flat
    # list that some stores still carry alone. Either way, only failures count.
    results = store.get("validation_results") or {}
    failures = list((results.get("activeManifest") or {}).get("failure", []))
    for delta in results.get("ingredientDeltas") or []:
        failures.extend((delta.get("validationDeltas") or {}).get("failure", []))
    if not failures:
        failures = store.get("validation_status") or []
    codes = dict.fromkeys(entry["code"] for entry in failures if entry.get("code"))
    return tuple(codes)
