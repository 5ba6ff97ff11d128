"""Limits of the public verifier: a per-client rate (CANDOR_VERIFY_RATE) and a cap on verifications running at once."""

import fcntl
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from core.errors import ApplicationError, ErrorCode

# Seconds a client is asked to wait when every verification slot is taken (a verification takes well under that).
VERIFIER_BUSY_RETRY_S = 2


class VerifyRateThrottle(SimpleRateThrottle):
    scope = "verify"

    def get_rate(self):
        # Read at request time, so the configured rate is the one in force.
        return settings.CANDOR_VERIFY_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


@contextmanager
def verification_slot():
    """Hold one of this machine's CANDOR_VERIFY_CONCURRENCY verification slots, or refuse at once (429).

    Decoding and reading a video keeps a processor busy for a while; without a
    cap, a burst of uploads would take every core and the light requests
    (render status, pages) would wait behind them. The slots are lock files
    under the data directory, so every web process on the machine shares them.
    Refusing is better than queueing: the client is told when to try again.
    """
    folder = Path(settings.DATA_DIR) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    for slot in range(settings.CANDOR_VERIFY_CONCURRENCY):
        handle = open(folder / f"verify-{slot}.lock", "a+b")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            yield
        finally:
            handle.close()  # closing releases the lock
        return
    raise ApplicationError(
        ErrorCode.VERIFIER_BUSY,
        f"the verifier is busy with other videos; try again in {VERIFIER_BUSY_RETRY_S} seconds",
        retry_after_s=VERIFIER_BUSY_RETRY_S,
    )
