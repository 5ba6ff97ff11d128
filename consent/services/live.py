"""The live, server-paced capture: open it, take its chunks as they are recorded while revealing the prompts at the
times the schedule chose, then check the whole stream (pace, answers in time, the face) once it is done.

A file prepared beforehand cannot answer prompts it has not seen: the turns, the flash's colours and the digits are
revealed only while the stream runs, and every answer must start within a person's reaction time of its prompt,
measured on the stream's own clock (consent/pace.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError, ErrorCode

from ..audit_log import consent_event_append
from ..flash import flash_sequence_new
from ..models import Consent, LiveCapture, LiveCaptureChunk, RegistryEntry
from .common import TURNS, challenge_draws, seed_setting

# MediaRecorder's timeslice the page uses: the server reveals prompts at this granularity.
TIMESLICE_MS = 250
# A 13-second capture from a 640x480 webcam is 1-3 MB; these bound what one capture can store.
MAX_CHUNK_BYTES = 1_000_000
MAX_CAPTURE_BYTES = 8_000_000
MAX_CHUNKS = 120
# The schedule, in seconds after chunk 0 arrives (random in these ranges, so a file cannot be timed to it): the first
# turn; the second, once the head is back; the flash, with the face frontal; the digits just after it; the end.
FIRST_TURN_S = (1.0, 2.5)
TURN_GAP_S = (1.8, 2.4)
FLASH_GAP_S = (1.8, 2.2)
DIGITS_AFTER_FLASH_S = 0.3
DONE_AFTER_DIGITS_S = 3.0


@dataclass(frozen=True)
class LiveStream:
    """A finished stream and what the analysis needs to know of its schedule (all seconds after chunk 0 arrived)."""

    data: bytes
    arrivals: list[tuple[int, float]]
    turns: list[str]
    turn_revealed_s: list[float]
    digits: str
    digits_revealed_s: float
    flash: dict  # colours, durations_ms, revealed_s


def capture_schedule(seed: int | None = None) -> list[dict]:
    """The prompts of one capture, each with the second it is due: random unless a test fixes `seed`."""
    rng = challenge_draws(seed)
    turns = rng.sample(TURNS, 2)
    first = rng.uniform(*FIRST_TURN_S)
    second = first + rng.uniform(*TURN_GAP_S)
    flash_at = second + rng.uniform(*FLASH_GAP_S)
    colours, durations = flash_sequence_new(rng)
    digits_at = flash_at + sum(durations) / 1000 + DIGITS_AFTER_FLASH_S
    digits = " ".join(str(rng.randrange(10)) for _ in range(3))
    return [
        {"id": 0, "kind": "turn", "value": turns[0], "due_s": round(first, 2)},
        {"id": 1, "kind": "turn", "value": turns[1], "due_s": round(second, 2)},
        {"id": 2, "kind": "flash", "colours": colours, "durations_ms": durations, "due_s": round(flash_at, 2)},
        {"id": 3, "kind": "digits", "value": digits, "due_s": round(digits_at, 2)},
        {"id": 4, "kind": "done", "due_s": round(digits_at + DONE_AFTER_DIGITS_S, 2)},
    ]


def live_capture_open(*, purpose: str, consent: Consent | None = None, registration: RegistryEntry | None = None):
    """Open a capture for a consent link or a registry entry, ending any capture still open on it.

    A consent link gets at most CANDOR_CONSENT_CHALLENGES_PER_LINK captures in all; a registry entry that many an hour
    for each purpose (registering, removing).
    """
    now = timezone.now()
    with transaction.atomic():
        if consent is not None:
            # Serializes opens on one link (PostgreSQL), so two tabs cannot both take the last capture.
            Consent.objects.select_for_update().filter(id=consent.id).first()
            earlier = LiveCapture.objects.filter(consent=consent)
        else:
            assert registration is not None, "a live capture is for a consent link or a registry entry"
            RegistryEntry.objects.select_for_update().filter(id=registration.id).first()
            # Counted per purpose: registering uses none of the removal's tries.
            earlier = LiveCapture.objects.filter(
                registration=registration, purpose=purpose, opened_at__gt=now - timedelta(hours=1)
            )
        used_up = earlier.count() >= settings.CANDOR_CONSENT_CHALLENGES_PER_LINK
        if used_up and consent is not None:
            if Consent.objects.filter(id=consent.id, status=Consent.Status.PENDING).update(
                status=Consent.Status.LOCKED
            ):
                consent_event_append(consent=consent, kind="locked", details={"reason": "captures_used"})
        if not used_up:
            earlier.filter(status=LiveCapture.Status.OPEN).update(status=LiveCapture.Status.CLOSED, finished_at=now)
            return LiveCapture.objects.create(
                purpose=purpose,
                consent=consent,
                registration=registration,
                schedule=capture_schedule(seed_setting("CANDOR_CAPTURE_SCHEDULE_SEED")),
                opened_at=now,
                expires_at=now + timedelta(seconds=settings.CANDOR_CONSENT_CHALLENGE_S),
            )
    if consent is not None:
        raise ApplicationError(
            ErrorCode.LINK_LOCKED,
            f"this link has had its {settings.CANDOR_CONSENT_CHALLENGES_PER_LINK} live checks; ask the requester for "
            "a new link",
        )
    raise ApplicationError(ErrorCode.THROTTLED, "three live checks were started in the last hour; try again later")


def _capture_check_open(capture: LiveCapture, now) -> None:
    if capture.status != LiveCapture.Status.OPEN or capture.finished_at is not None:
        raise ApplicationError(ErrorCode.CAPTURE_CLOSED, "this live check has ended; start a new one")
    if capture.expires_at <= now:
        LiveCapture.objects.filter(id=capture.id).update(status=LiveCapture.Status.CLOSED, finished_at=now)
        raise ApplicationError(ErrorCode.CAPTURE_EXPIRED, "this live check took too long; start a new one")


def prompts_revealed(capture: LiveCapture) -> list[dict]:
    """The prompts shown so far, as the page gets them: never the time a prompt is due, only when it was revealed."""
    shown = []
    for prompt in capture.schedule:
        revealed_s = capture.revealed.get(str(prompt["id"]))
        if revealed_s is not None:
            public = {key: value for key, value in prompt.items() if key != "due_s"}
            shown.append({**public, "revealed_s": revealed_s})
    return shown


def live_capture_chunk(*, capture: LiveCapture, seq: int, data: bytes) -> LiveCapture:
    """Store the next chunk, stamp its arrival, and reveal every prompt now due."""
    if len(data) > MAX_CHUNK_BYTES:
        raise ApplicationError(ErrorCode.TOO_LARGE, f"a chunk may be at most {MAX_CHUNK_BYTES} bytes")
    if not data:
        raise ApplicationError(ErrorCode.INVALID, "the chunk is empty")
    with transaction.atomic():
        capture = LiveCapture.objects.select_for_update().get(id=capture.id)
        now = timezone.now()
        _capture_check_open(capture, now)
        if seq != capture.chunks_received:
            raise ApplicationError(
                ErrorCode.CHUNK_OUT_OF_ORDER, f"expected chunk {capture.chunks_received}, got chunk {seq}"
            )
        if seq >= MAX_CHUNKS or capture.bytes_received + len(data) > MAX_CAPTURE_BYTES:
            raise ApplicationError(
                ErrorCode.CAPTURE_TOO_COSTLY, "the live check sent more than a capture needs; start a new one"
            )
        if seq == 0:
            capture.first_chunk_at = now
        assert capture.first_chunk_at is not None
        elapsed = (now - capture.first_chunk_at).total_seconds()
        LiveCaptureChunk.objects.create(capture=capture, seq=seq, data=data)
        capture.chunks_received += 1
        capture.bytes_received += len(data)
        capture.arrivals = [*capture.arrivals, [capture.bytes_received, round(elapsed, 3)]]
        for prompt in capture.schedule:
            if prompt["due_s"] <= elapsed and str(prompt["id"]) not in capture.revealed:
                capture.revealed = {**capture.revealed, str(prompt["id"]): round(elapsed, 3)}
        capture.save(update_fields=["first_chunk_at", "chunks_received", "bytes_received", "arrivals", "revealed"])
    return capture


def capture_done(capture: LiveCapture) -> bool:
    return str(capture.schedule[-1]["id"]) in capture.revealed


def live_capture_take(*, capture: LiveCapture) -> LiveStream:
    """End the stream (once: a second finish is refused) and hand over what the analysis needs."""
    with transaction.atomic():
        capture = LiveCapture.objects.select_for_update().get(id=capture.id)
        now = timezone.now()
        _capture_check_open(capture, now)
        capture.finished_at = now
        done = capture_done(capture)
        if not done:
            capture.status = LiveCapture.Status.FAILED
            capture.refusal = ErrorCode.CHALLENGE_NOT_ANSWERED
        capture.save(update_fields=["finished_at", "status", "refusal"])
        data = b"".join(bytes(chunk) for chunk in capture.chunks.order_by("seq").values_list("data", flat=True))
    if not done:
        LiveCaptureChunk.objects.filter(capture_id=capture.id).delete()
        raise ApplicationError(
            ErrorCode.CHALLENGE_NOT_ANSWERED, "the recording stopped before the live check was over; try again"
        )
    revealed = {int(key): value for key, value in capture.revealed.items()}
    turns = [prompt for prompt in capture.schedule if prompt["kind"] == "turn"]
    flash = next(prompt for prompt in capture.schedule if prompt["kind"] == "flash")
    digits = next(prompt for prompt in capture.schedule if prompt["kind"] == "digits")
    return LiveStream(
        data=data,
        arrivals=[(int(byte_end), float(arrival)) for byte_end, arrival in capture.arrivals],
        turns=[turn["value"] for turn in turns],
        turn_revealed_s=[revealed[turn["id"]] for turn in turns],
        digits=digits["value"],
        digits_revealed_s=revealed[digits["id"]],
        flash={"colours": flash["colours"], "durations_ms": flash["durations_ms"], "revealed_s": revealed[flash["id"]]},
    )


def live_capture_end(*, capture: LiveCapture, refusal: str | None) -> None:
    """Record the outcome and drop the stream's chunks (a capture kept for review is stored encrypted elsewhere)."""
    LiveCapture.objects.filter(id=capture.id).update(
        status=LiveCapture.Status.FAILED if refusal else LiveCapture.Status.PASSED, refusal=refusal or ""
    )
    LiveCaptureChunk.objects.filter(capture_id=capture.id).delete()
