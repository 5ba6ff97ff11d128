"""How the creator app reacts to what consent announces: cancel renders, erase a portrait, make a released one."""

from __future__ import annotations

from typing import Any

from consent import signals
from consent.models import Consent, RegistryHold

from . import services


def renders_cancel_on_revoke(sender: type, *, consent: Consent, **kwargs: Any) -> int:
    return services.renders_cancel_for_consent(consent=consent)


def renders_cancel_on_expiry(sender: type, *, consent: Consent, **kwargs: Any) -> int:
    return services.renders_cancel_for_consent(consent=consent, reason="consent expired")


def portrait_erase_on_erasure(sender: type, *, consent: Consent, portrait: Any, **kwargs: Any) -> None:
    services.portrait_erase(portrait=portrait)


def portrait_create_on_release(sender: type, *, hold: RegistryHold, **kwargs: Any) -> None:
    hold.portrait = services.portrait_create_released(hold=hold)


def receivers_connect() -> None:
    signals.consent_revoked.connect(renders_cancel_on_revoke, dispatch_uid="studio.renders_cancel_on_revoke")
    signals.consent_expired.connect(renders_cancel_on_expiry, dispatch_uid="studio.renders_cancel_on_expiry")
    signals.consent_erased.connect(portrait_erase_on_erasure, dispatch_uid="studio.portrait_erase_on_erasure")
    signals.registry_hold_released.connect(portrait_create_on_release, dispatch_uid="studio.portrait_create_on_release")
