"""Consent actions, one module per topic; the names callers use are re-exported here.

- `requests`: ask the person pictured; the consent text; the challenge their page shows.
- `capture`: the live capture check (stills, Candor renders, unanswered challenges refused).
- `decisions`: approve or decline; failed attempts.
- `receipts`: the signed receipt and the email that carries it.
- `review`: human review of risky approvals (encrypted capture, staff decision, purge).
- `lifecycle`: revoke, erase, expire; the gate every render passes; the preview quota.
- `registry`: the face registry (do-not-generate, send-to-me), the upload screen and consent-request routing.
- `holds`: human review of uploads the registry held.
"""

from .capture import COUNTED_REFUSALS, CaptureCheck, capture_check
from .decisions import consent_approve_live, consent_decide, consent_link_check_open
from .holds import REGISTRY_REVIEW_DECISIONS, registry_hold_release
from .lifecycle import (
    consent_erase,
    consent_gate,
    consent_links_expire_due,
    consent_preview_give_back,
    consent_preview_take,
    consent_revoke,
    consents_expire_due,
)
from .live import capture_done, capture_schedule, live_capture_chunk, live_capture_open, prompts_revealed
from .receipts import consent_receipt, receipt_bytes
from .registry import (
    ROUTED_NOTICE,
    registry_capture_submit,
    registry_confirm,
    registry_entry_start,
    registry_remove,
    registry_screen,
)
from .requests import (
    CONSENT_TEXT_VERSION,
    ConsentText,
    consent_challenge_issue,
    consent_link_opened,
    consent_request_create,
    consent_text,
)
from .review import (
    CONSENT_REVIEW_DAYS,
    CONSENT_REVIEW_DECISIONS,
    consent_review_decide,
    consent_reviews_expire_due,
    review_key_frames,
)

__all__ = [
    "CONSENT_REVIEW_DAYS",
    "CONSENT_REVIEW_DECISIONS",
    "CONSENT_TEXT_VERSION",
    "COUNTED_REFUSALS",
    "REGISTRY_REVIEW_DECISIONS",
    "ROUTED_NOTICE",
    "CaptureCheck",
    "ConsentText",
    "capture_check",
    "capture_done",
    "capture_schedule",
    "consent_approve_live",
    "consent_challenge_issue",
    "consent_decide",
    "consent_erase",
    "consent_gate",
    "consent_link_check_open",
    "consent_links_expire_due",
    "consent_preview_give_back",
    "consent_preview_take",
    "consent_receipt",
    "consent_link_opened",
    "consent_request_create",
    "consent_review_decide",
    "consent_reviews_expire_due",
    "consent_revoke",
    "consent_text",
    "live_capture_chunk",
    "live_capture_open",
    "prompts_revealed",
    "consents_expire_due",
    "receipt_bytes",
    "registry_capture_submit",
    "registry_confirm",
    "registry_entry_start",
    "registry_hold_release",
    "registry_remove",
    "registry_screen",
    "review_key_frames",
]
