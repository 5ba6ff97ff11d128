"""Per-client rate limit of the public verifier (CANDOR_VERIFY_RATE), shared by the API and the page."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class VerifyRateThrottle(SimpleRateThrottle):
    scope = "verify"

    def get_rate(self):
        # Read at request time, so the configured rate is the one in force.
        return settings.CANDOR_VERIFY_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
