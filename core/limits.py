"""Limits on guessing, counted in the cache: failed logins per account and per address, invalid link and API tokens per
address.
"""

from __future__ import annotations

import hashlib
import math

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.throttling import BaseThrottle

LOGIN_ACCOUNT = "login-account"
LOGIN_ADDRESS = "login-address"
TOKEN_ADDRESS = "token-address"


def client_address(request: HttpRequest) -> str:
    """The client as the API's throttles see it (REMOTE_ADDR, or the proxy's X-Forwarded-For when NUM_PROXIES
    says so).
    """
    return BaseThrottle().get_ident(request)  # type: ignore[arg-type]  # reads only META


# Per scope: the settings naming how many failures are allowed, and for how many seconds they count and lock out.
_LIMIT_SETTINGS = {
    LOGIN_ACCOUNT: ("CANDOR_LOGIN_FAILURES_PER_ACCOUNT", "CANDOR_LOGIN_LOCKOUT_S"),
    LOGIN_ADDRESS: ("CANDOR_LOGIN_FAILURES_PER_ADDRESS", "CANDOR_LOGIN_LOCKOUT_S"),
    TOKEN_ADDRESS: ("CANDOR_TOKEN_FAILURES_PER_ADDRESS", "CANDOR_TOKEN_LOCKOUT_S"),
}


def _limit(scope: str) -> tuple[int, int]:
    allowed, window = _LIMIT_SETTINGS[scope]
    # Read at call time, so the configured limits are the ones in force.
    return getattr(settings, allowed), getattr(settings, window)


def _keys(scope: str, key: str) -> tuple[str, str]:
    # Hashed: usernames and addresses may hold characters a cache key may not.
    digest = hashlib.sha256(f"{scope}\0{key}".encode()).hexdigest()
    return f"candor:failures:{digest}", f"candor:locked:{digest}"


def failures_wait(*, scope: str, key: str) -> int:
    """Seconds until `key` may try again in `scope`; 0 when it may now."""
    locked_until = cache.get(_keys(scope, key)[1])
    if locked_until is None:
        return 0
    # Compared with Django's clock (not only left to the cache's expiry), so a lockout ends when that clock says.
    return max(0, math.ceil(float(locked_until) - timezone.now().timestamp()))


def failure_record(*, scope: str, key: str) -> int:
    """Count one failure; at the limit the key is locked out for the window. Returns the seconds to wait (0 if not
    locked).
    """
    allowed, window_s = _limit(scope)
    counter, lock = _keys(scope, key)
    cache.add(counter, 0, timeout=window_s)
    try:
        failures = cache.incr(counter)
    except ValueError:  # the counter expired between add and incr
        failures = 1
        cache.set(counter, failures, timeout=window_s)
    if failures < allowed:
        return 0
    cache.set(lock, timezone.now().timestamp() + window_s, timeout=window_s)
    # A fresh count once the lockout ends, so one more failure then does not lock again at once.
    cache.delete(counter)
    return window_s


def failures_clear(*, scope: str, key: str) -> None:
    """Forget the failures of `key` (after a successful login to that account)."""
    cache.delete_many(list(_keys(scope, key)))


def login_wait(*, username: str, address: str) -> int:
    """Seconds until a login to this account, or from this address, may be tried again; 0 when it may now."""
    return max(
        failures_wait(scope=LOGIN_ACCOUNT, key=username.casefold()), failures_wait(scope=LOGIN_ADDRESS, key=address)
    )


def login_failed(*, username: str, address: str) -> int:
    """Count a failed login against the account and the address; returns the seconds to wait now (0 if not locked)."""
    return max(
        failure_record(scope=LOGIN_ACCOUNT, key=username.casefold()), failure_record(scope=LOGIN_ADDRESS, key=address)
    )


def login_succeeded(*, username: str) -> None:
    # The address keeps its count: logging in to one's own account must not reset guessing at others' accounts.
    failures_clear(scope=LOGIN_ACCOUNT, key=username.casefold())


def wait_words(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
