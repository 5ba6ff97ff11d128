"""What the consent services share: the challenge, the requested scope, and mail sent on commit."""

from __future__ import annotations

import random
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template import Context
from django.template.loader import get_template
from django.utils import timezone

from core.errors import ApplicationError, ErrorCode
from core.languages import languages_normalize

from ..models import PURPOSES

TURNS = ["left", "right", "up", "down"]


@dataclass(frozen=True)
class Scope:
    purposes: list[str]
    languages: list[str]  # language codes, or ["any"]
    expires_at: datetime
    max_renders: int | None


def seed_setting(name: str) -> int | None:
    """A challenge seed that only the test settings define (CANDOR_CAPTURE_SCHEDULE_SEED, CANDOR_CHALLENGE_SEED):
    production settings never define them, so there it is None."""
    return getattr(settings, name, None)


def challenge_draws(seed: int | None) -> random.Random:
    """Where a challenge's random choices come from: the system's randomness, or a generator a test fixed by `seed`."""
    return random.Random(seed) if seed is not None else secrets.SystemRandom()


def challenge_new() -> dict:
    """A recorded file's challenge (two turns, three digits): random unless a test fixes it (CANDOR_CHALLENGE_SEED)."""
    rng = challenge_draws(seed_setting("CANDOR_CHALLENGE_SEED"))
    turns = rng.sample(TURNS, 2)
    digits = " ".join(str(rng.randrange(10)) for _ in range(3))
    return {
        "id": uuid.uuid4().hex,
        "turns": turns,
        "digits": digits,
        "instructions": f"Look at the camera, turn your head {turns[0]}, then {turns[1]}, and read aloud: {digits}.",
    }


def scope_requested(*, purposes, languages, expires_at, max_renders) -> Scope:
    purposes = list(purposes or PURPOSES)
    unknown = sorted(set(purposes) - set(PURPOSES))
    if unknown:
        raise ApplicationError(ErrorCode.INVALID_SCOPE, f"unknown purposes {unknown}; choose from {PURPOSES}")
    languages = languages_normalize(languages or ["any"])
    now = timezone.now()
    expires_at = expires_at or now + timedelta(days=365)
    if expires_at <= now:
        raise ApplicationError(ErrorCode.INVALID_SCOPE, "expires_at must be in the future")
    if max_renders is not None and max_renders < 1:
        raise ApplicationError(ErrorCode.INVALID_SCOPE, "max_renders must be at least 1")
    return Scope(purposes=sorted(set(purposes)), languages=languages, expires_at=expires_at, max_renders=max_renders)


def scope_json(scope: Scope) -> dict:
    return {
        "purposes": scope.purposes,
        "languages": scope.languages,
        "expires_at": scope.expires_at.isoformat(),
        "max_renders": scope.max_renders,
    }


def email_text(template: str, context: dict) -> str:
    """The plain-text body of an email: rendered without HTML escaping, so "Smith & Sons" reads as typed."""
    return get_template(template).template.render(Context(context, autoescape=False))  # type: ignore[attr-defined]


def email_after_commit(*, subject: str, template: str, context: dict, to: str) -> None:
    """Send once the transaction commits, so no email ever carries a link to a rolled-back record."""
    message = email_text(template, context)
    transaction.on_commit(lambda: send_mail(subject=subject, message=message, from_email=None, recipient_list=[to]))
