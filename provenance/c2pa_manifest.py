"""Sign rendered MP4s with C2PA Content Credentials and read them back, fully offline."""

from __future__ import annotations

import base64
import datetime
import io
import json
import os
import stat
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import c2pa

from .signer import ContentSigner

MP4_MIME = "video/mp4"
# A bare manifest store (JUMBF), as served by a manifest repository or kept in a .c2pa sidecar.
C2PA_MIME = "application/c2pa"
GENERATOR_NAME = "Candor"
MOV_MIME = "video/quicktime"
RENDER_ASSERTION_LABEL = "org.candor.render"
CONSENT_ASSERTION_LABEL = "org.candor.consent"
SOFT_BINDING_LABEL = "c2pa.soft-binding"
# Validation codes meaning the bytes changed after signing (bmffHash for MP4, dataHash elsewhere).
HASH_MISMATCH_PREFIXES = ("assertion.bmffHash.mismatch", "assertion.dataHash.mismatch", "assertion.boxesHash.mismatch")
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
class SoftBinding:
    """What the manifest says the invisible watermark carries, so a stripped copy can be linked back."""

    algorithm: str
    payload_hex: str

    @property
    def value(self) -> str:
        """The payload as the soft-binding assertion and the Soft Binding Resolution API carry it: base64."""
        return base64.b64encode(bytes.fromhex(self.payload_hex)).decode("ascii")


@dataclass(frozen=True)
class SignedManifest:
    """What signing embedded: the manifest store (JUMBF) byte for byte, and its active manifest's label (a URN)."""

    manifest_id: str
    store: bytes


@dataclass(frozen=True)
class Ingredient:
    """The source portrait, named only by the hash of its pixels (no image data in the public manifest)."""

    title: str
    relationship: str
    sha256: str


@dataclass(frozen=True)
class ManifestReport:
    present: bool
    valid: bool
    trusted: bool
    # False when the video's bytes no longer match the hash the manifest signed.
    hash_binding_intact: bool | None
    hash_binding: str | None
    digital_source_type: str | None
    claim_generator: str | None
    actions: tuple[str, ...]
    ingredients: tuple[dict, ...]
    soft_binding: dict | None
    consent: dict | None
    render_id: str | None
    # The signature's timestamp when there is one; Candor signs without a
    # timestamp authority, so otherwise the signed `when` of the c2pa.created action.
    signed_at: str | None
    signer: str | None
    issues: tuple[str, ...]


def mp4_sign(
    *,
    source: Path,
    destination: Path,
    signer: ContentSigner,
    trust_anchor_pem: bytes,
    render_id: str,
    title: str,
    generator_version: str,
    consent_summary: dict | None = None,
    ingredient: Ingredient | None = None,
    soft_binding: SoftBinding | None = None,
    edits: tuple[str, ...] = (),
) -> SignedManifest:
    """Embed a signed C2PA manifest declaring source as AI-generated, writing destination atomically.

    ``edits`` are c2pa action names Candor applied after generating (e.g. the visible label). Returns the manifest
    store exactly as embedded, so it can be served again for a copy that lost it.
    """
    consent_fields = dict(consent_summary or {})
    if "render_id" in consent_fields:
        raise ValueError("consent_summary must not carry its own render_id")
    when = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    actions = [{"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA, "when": when}]
    actions += [{"action": name, "when": when} for name in edits]
    assertions = [{"label": RENDER_ASSERTION_LABEL, "data": {"render_id": render_id}}]
    if consent_fields:
        assertions.append({"label": CONSENT_ASSERTION_LABEL, "data": consent_fields})
    if soft_binding is not None:
        # c2pa accepts c2pa.watermarked only beside a soft-binding assertion naming the watermark.
        actions.append(
            {"action": "c2pa.watermarked", "when": when, "parameters": {"description": soft_binding.algorithm}}  # type: ignore[dict-item]
        )
        assertions.append(
            {
                "label": SOFT_BINDING_LABEL,
                "data": {
                    "alg": soft_binding.algorithm,
                    "blocks": [
                        {
                            "scope": {},
                            "value": soft_binding.value,
                        }
                    ],
                },
            }
        )
    manifest = {
        "claim_generator_info": [{"name": GENERATOR_NAME, "version": generator_version}],
        "title": title,
        "format": MP4_MIME,
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": actions}}, *assertions],
    }
    if ingredient is not None:
        manifest["ingredients"] = [
            {
                "title": ingredient.title,
                "format": "image/jpeg",
                "relationship": ingredient.relationship,
                "instance_id": f"sha256:{ingredient.sha256}",
            }
        ]
    destination = Path(destination)
    fd, tmp_name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".tmp")
    try:
        with (
            os.fdopen(fd, "w+b") as destination_file,
            open(source, "rb") as source_file,
            _context_create(root_certificate_pem=trust_anchor_pem) as context,
            # A callback signer keeps the private key wherever the ContentSigner keeps it.
            c2pa.Signer.from_callback(
                signer.sign, c2pa.C2paSigningAlg.ES256, signer.certificate_chain_pem.decode("ascii"), None
            ) as c2pa_signer,
            c2pa.Builder(manifest, context=context) as builder,
        ):
            store = builder.sign(c2pa_signer, MP4_MIME, source_file, destination_file)
            destination_file.flush()
            os.fsync(destination_file.fileno())
        # mkstemp makes the file 0600; signing should not change who may read the video.
        os.chmod(tmp_name, stat.S_IMODE(os.stat(source).st_mode))
        os.replace(tmp_name, destination)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return SignedManifest(
        manifest_id=_active_manifest_label(store=store, root_certificate_pem=trust_anchor_pem), store=store
    )


def _active_manifest_label(*, store: bytes, root_certificate_pem: bytes) -> str:
    # Read without its asset, the store fails its hash binding; its label is all that is wanted here.
    with (
        _context_create(root_certificate_pem=root_certificate_pem) as context,
        c2pa.Reader(C2PA_MIME, io.BytesIO(store), context=context) as reader,
    ):
        return str(json.loads(reader.json())["active_manifest"])


def active_manifest_jumbf(store: bytes) -> bytes:
    """The active manifest's own JUMBF superbox, cut out of a manifest store (C2PA: the store's last manifest).

    A store is a `jumb` superbox: a `jumd` description, then one `jumb` superbox per manifest, oldest first.
    """
    manifests = [box for box in _jumbf_boxes(store, start=8) if box[4:8] == b"jumb"] if store[4:8] == b"jumb" else []
    if not manifests:
        raise ValueError("not a C2PA manifest store: no manifest superbox inside a jumb box")
    return manifests[-1]


def _jumbf_boxes(data: bytes, *, start: int) -> list[bytes]:
    """The boxes laid end to end in data[start:], each with its 8-byte header (32-bit sizes only, as c2pa writes)."""
    boxes = []
    offset = start
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        if size < 8 or offset + size > len(data):
            raise ValueError(f"malformed JUMBF box at byte {offset}")
        boxes.append(data[offset : offset + size])
        offset += size
    return boxes


def mp4_read_manifest(
    *, path: Path, root_certificate_pem: bytes, mime: str = MP4_MIME, manifest_store: bytes | None = None
) -> ManifestReport:
    """Report whether path carries a valid C2PA manifest trusted to root_certificate_pem; never raises on bad input.

    With manifest_store (a store served apart from the file, e.g. by a soft-binding lookup), that store is
    judged against path's bytes instead of whatever path embeds.
    """
    try:
        with (
            _context_create(root_certificate_pem=root_certificate_pem) as context,
            open(path, "rb") as asset,
            c2pa.Reader(mime, asset, manifest_data=manifest_store, context=context) as reader,
        ):
            store = json.loads(reader.json())
    except c2pa.C2paError.ManifestNotFound:
        return report_absent(issues=())
    except DAMAGED_MANIFEST_ERRORS as error:
        return replace(report_absent(issues=(str(error),)), present=True)
    except c2pa.C2paError as error:
        # Not parseable as an MP4 at all (text, truncated, empty): no claim to judge.
        return report_absent(issues=(str(error),))

    manifest = store.get("manifests", {}).get(store.get("active_manifest"), {})
    state = store.get("validation_state")
    created = _created_action(manifest=manifest)
    render = _assertion_data(manifest=manifest, label=RENDER_ASSERTION_LABEL)
    issues = _issues(store=store)
    hash_label = next(
        (a.get("label") for a in manifest.get("assertions", []) if str(a.get("label", "")).startswith("c2pa.hash.")),
        None,
    )
    soft_binding = _assertion_data(manifest=manifest, label=SOFT_BINDING_LABEL)
    signature = manifest.get("signature_info", {})
    return ManifestReport(
        present=True,
        valid=state in VALID_STATES,
        trusted=state == TRUSTED_STATE,
        hash_binding_intact=not any(code.startswith(HASH_MISMATCH_PREFIXES) for code in issues),
        hash_binding=hash_label,
        digital_source_type=created.get("digitalSourceType"),
        claim_generator=_claim_generator(manifest=manifest),
        actions=tuple(action.get("action", "") for action in _actions(manifest=manifest)),
        ingredients=tuple(
            {
                "title": ingredient.get("title"),
                "relationship": ingredient.get("relationship"),
                "instance_id": ingredient.get("instance_id"),
            }
            for ingredient in manifest.get("ingredients", [])
        ),
        soft_binding=_soft_binding_summary(data=soft_binding) if soft_binding else None,
        consent=_assertion_data(manifest=manifest, label=CONSENT_ASSERTION_LABEL) or None,
        render_id=render.get("render_id"),
        signed_at=signature.get("time") or created.get("when"),
        signer=signature.get("common_name") or signature.get("issuer"),
        issues=issues,
    )


def _soft_binding_summary(*, data: dict) -> dict:
    blocks = data.get("blocks") or [{}]
    try:
        payload = base64.b64decode(blocks[0].get("value", ""), validate=True).hex()
    except (ValueError, TypeError):
        payload = None
    return {"algorithm": data.get("alg"), "payload_hex": payload}


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


def report_absent(*, issues: tuple[str, ...]) -> ManifestReport:
    return ManifestReport(
        present=False,
        valid=False,
        trusted=False,
        hash_binding_intact=None,
        hash_binding=None,
        digital_source_type=None,
        claim_generator=None,
        actions=(),
        ingredients=(),
        soft_binding=None,
        consent=None,
        render_id=None,
        signed_at=None,
        signer=None,
        issues=issues,
    )


def _assertion_data(*, manifest: dict, label: str) -> dict:
    for assertion in manifest.get("assertions", []):
        if assertion.get("label") == label:
            return assertion.get("data", {})
    return {}


def _actions(*, manifest: dict) -> list[dict]:
    for label in ("c2pa.actions.v2", "c2pa.actions"):
        actions = _assertion_data(manifest=manifest, label=label).get("actions")
        if actions:
            return list(actions)
    return []


def _created_action(*, manifest: dict) -> dict:
    return next((action for action in _actions(manifest=manifest) if action.get("action") == "c2pa.created"), {})


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
