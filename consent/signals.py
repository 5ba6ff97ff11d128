"""What consent announces, so the creator app can react without consent importing it.

Each is sent inside the transaction that made the change, so a receiver's writes commit or roll back with it.
"""

from collections.abc import Sequence

from django.dispatch import Signal

# consent: the revoked Consent. Receivers cancel its queued and running renders and return how many they cancelled.
consent_revoked = Signal()
# consent: the expired Consent. As consent_revoked.
consent_expired = Signal()
# consent, portrait: the portrait erased at the person's request. Receivers delete its photo, rigs, videos,
# recordings and captions, and blank the portrait's personal fields (setting portrait.erased_at).
consent_erased = Signal()
# hold: a RegistryHold a reviewer released. A receiver creates the portrait from the held photo and sets hold.portrait.
registry_hold_released = Signal()


def renders_cancelled_count(responses: Sequence[tuple[object, object]]) -> int:
    """How many renders the receivers of consent_revoked / consent_expired say they cancelled."""
    return sum(response for _, response in responses if isinstance(response, int))
