"""The verifier's report: the verdict in plain sentences for people and in fields for machines."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from consent.selectors import consent_state_now
from provenance import watermark
from provenance.services import PREVIEW_WATERMARK_SERIAL

from .directory import RenderRecord
from .evidence import Evidence

VERDICTS = ("candor_generated", "content_mismatch", "candor_preview", "tampered", "not_recognized")


@dataclass(frozen=True)
class Verdict:
    name: str
    # Whether the picture is the render's own (None when nothing names a render or no fingerprint is stored for it).
    content_match: bool | None
    # The render the report may name: never the one a copied watermark points at.
    render: RenderRecord | None
    # For content_mismatch: what differs from the render ("picture", "mouth", "audio").
    mismatched: tuple[str, ...] = ()


@dataclass(frozen=True)
class VerificationReport:
    verdict: str
    # Plain sentences: what was found, what was not, and what that means.
    explanation: tuple[str, ...]
    content_match: bool | None
    # The tracks compared with the render ("checked"), those that differ ("mismatched"), their distances, and where
    # the video starts in the render; None when no render's content was compared.
    content: dict | None
    c2pa: dict
    watermark: dict
    render: dict | None
    seconds: float


def report_build(*, evidence: Evidence, verdict: Verdict, seconds: float) -> VerificationReport:
    manifest, reading = evidence.manifest, evidence.reading
    render_info = None
    if verdict.render is not None:
        render_info = {
            "id": str(verdict.render.id),
            "created_at": verdict.render.created_at.isoformat(),
            "consent_status": consent_state_now(verdict.render.consent),
        }
    mismatch = verdict.name == "content_mismatch"
    by_watermark = evidence.by_watermark
    return VerificationReport(
        verdict=verdict.name,
        explanation=_explanation(evidence=evidence, verdict=verdict, render_info=render_info),
        content_match=verdict.content_match,
        content=_content_fields(evidence=evidence, verdict=verdict),
        c2pa={
            "present": manifest.present,
            "valid": manifest.valid,
            "trusted": manifest.trusted,
            "tampered": manifest.present and not manifest.valid and manifest.hash_binding_intact is not True,
            "hash_binding": manifest.hash_binding,
            "hash_binding_intact": manifest.hash_binding_intact,
            "claim_generator": manifest.claim_generator,
            "digital_source_type": manifest.digital_source_type,
            "actions": list(manifest.actions),
            "ingredients": list(manifest.ingredients),
            "soft_binding": manifest.soft_binding,
            "consent": manifest.consent,
            "signed_at": manifest.signed_at,
            "signer": manifest.signer,
            "issues": list(manifest.issues),
        },
        watermark={
            "found": reading.found,
            "algorithm": watermark.ALGORITHM,
            "render_id": str(by_watermark.id) if by_watermark is not None and not mismatch else None,
            "preview": verdict.name == "candor_preview",
            "bit_errors": reading.bit_errors,
            "frames_examined": reading.frames_examined,
            "scale": reading.scale,
            "mirrored": reading.mirrored,
            "content_similarity": None
            if evidence.content_similarity is None
            else round(evidence.content_similarity, 3),
        },
        render=render_info,
        seconds=round(seconds, 3),
    )


def _content_fields(*, evidence: Evidence, verdict: Verdict) -> dict | None:
    compared = evidence.content
    if compared is None:
        if evidence.content_similarity is None:
            return None
        return {
            "checked": ["picture"],
            "mismatched": list(verdict.mismatched),
            "distances": {},
            "offset_s": None,
            "sync_gap": None,
        }
    return {
        "checked": list(compared.checked),
        "mismatched": list(compared.mismatched),
        "distances": {track: None if value is None else round(value, 3) for track, value in compared.distances.items()},
        "offset_s": None if compared.offset_s is None else round(compared.offset_s, 2),
        "sync_gap": None if compared.sync_gap is None else round(compared.sync_gap, 3),
    }


# How the report names each track that differs.
_TRACK_WORDS = {"picture": "the picture", "mouth": "the mouth's movement", "audio": "the sound"}


def _track_words(evidence: Evidence, track: str) -> str:
    compared = evidence.content
    if compared is not None and compared.distances.get(track) is None:
        return f"{_TRACK_WORDS[track]} (none that lines up with the render's could be found)"
    return _TRACK_WORDS[track]


def _manifest_sentence(evidence: Evidence) -> str:
    manifest = evidence.manifest
    if manifest.present and manifest.valid and manifest.trusted:
        return (
            f"A C2PA manifest signed by Candor is present and intact ({manifest.hash_binding or 'hash binding'} "
            f"matches the file); it declares the video AI-generated by {manifest.claim_generator}."
        )
    if manifest.present and manifest.valid:
        return "A valid C2PA manifest is present, but it is not signed by Candor's certificate authority."
    if manifest.present and manifest.hash_binding_intact is False:
        return (
            "A C2PA manifest is present but the video was changed after signing: its hash no longer matches (tampered)."
        )
    if manifest.present:
        return f"A C2PA manifest is present but damaged or invalid ({', '.join(manifest.issues) or 'unreadable'})."
    if evidence.container == "webm":
        return "WebM files cannot carry a C2PA manifest, so only the invisible watermark was checked."
    return "No C2PA manifest: it was never there or was stripped (re-encoding and most uploads strip it)."


def _watermark_sentence(evidence: Evidence) -> str:
    reading = evidence.reading
    if reading.found and evidence.by_watermark is not None:
        where = (
            ""
            if not reading.scale or reading.scale == 1.0
            else f" in a copy at {reading.scale:.0%} of the original size"
        )
        return (
            f"Candor's invisible watermark was found{where}, naming one of Candor's renders "
            f"({reading.frames_examined} frames read)."
        )
    if reading.found and reading.serial == PREVIEW_WATERMARK_SERIAL:
        return (
            "Candor's invisible watermark for previews was found: this is a one-second preview made with Candor "
            "(AI-generated). Previews are not stored, so Candor can confirm nothing more about it."
        )
    if reading.found:
        return "Candor's invisible watermark was found, but no render with its id is on record here."
    return f"No Candor watermark was found in {reading.frames_examined} frames."


def _explanation(*, evidence: Evidence, verdict: Verdict, render_info: dict | None) -> tuple[str, ...]:
    lines = [_manifest_sentence(evidence), _watermark_sentence(evidence)]
    if verdict.content_match is False:
        differing = " and ".join(_track_words(evidence, track) for track in verdict.mismatched) or "the content"
        verb = "differs" if len(verdict.mismatched) <= 1 else "differ"
        lines.append(
            f"The watermark names one of Candor's renders, but {differing} of this video {verb} from that render's: "
            "the watermark was copied onto other content, so this video is not a Candor render and says nothing "
            "about anyone's consent."
        )
    if render_info is not None and verdict.content_match is True:
        lines.append(
            f"Made with Candor on {render_info['created_at'][:10]}; the person pictured consented, and that "
            f"consent is {render_info['consent_status']} now."
        )
    elif render_info is not None:
        lines.append(
            f"The watermark names a render made with Candor on {render_info['created_at'][:10]}, whose consent is "
            f"{render_info['consent_status']} now; no fingerprint of that render is on record, so whether this "
            "video shows its content could not be checked."
        )
    if verdict.name == "candor_preview":
        lines.append(
            "A Candor preview: AI-generated, but not a finished render. It names no render, so Candor cannot say "
            "whose consent covered it or whether that consent still stands, nor that the picture is the preview's own."
        )
    if verdict.name == "tampered":
        lines.append(
            "The manifest cannot be trusted and no watermark confirms the video, so its origin cannot be established."
        )
    if verdict.name == "not_recognized" and not evidence.reading.found:
        lines.append("Not recognized as a Candor video. Absence of a watermark is not proof that a video is authentic.")
    elif verdict.name == "not_recognized":
        lines.append("Not recognized as a Candor render on record.")
    return tuple(lines)


def report_as_dict(report: VerificationReport) -> dict[str, Any]:
    return asdict(report)
