"""Limits of the public verifier: a per-client rate (CANDOR_VERIFY_RATE) and a cap on verifications running at once."""

import threading
from contextlib import contextmanager

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from studio.exceptions import ApplicationError

# Seconds a client is asked to wait when every verification slot is taken (a verification takes well under that).
VERIFIER_BUSY_RETRY_S = 2
_slots: dict[int, threading.BoundedSemaphore] = {}  # by capacity: the setting in force picks its own
_slots_lock = threading.Lock()


class VerifyRateThrottle(SimpleRateThrottle):
    scope = "verify"

    def get_rate(self):
        # Read at request time, so the configured rate is the one in force.
        return settings.CANDOR_VERIFY_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


@contextmanager
def verification_slot():
    """Hold one of this web process's CANDOR_VERIFY_CONCURRENCY verification slots, or refuse at once (429).

    Decoding and reading a video takes a processor for a second or so; without a
    cap, a burst of uploads would take every web thread and the light requests
    (render status, pages) would wait behind them. Refusing is better than
    queueing: the client is told when to try again.
    """
    capacity = settings.CANDOR_VERIFY_CONCURRENCY
    with _slots_lock:
        slots = _slots.setdefault(capacity, threading.BoundedSemaphore(capacity))
    if not slots.acquire(blocking=False):
        raise ApplicationError(
            "verifier_busy", f"the verifier is busy with other videos; try again in {VERIFIER_BUSY_RETRY_S} seconds",
            status_code=429, retry_after_s=VERIFIER_BUSY_RETRY_S,
        )
    try:
        yield
    finally:
        slots.release()
