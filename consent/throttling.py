"""Per-address limit on live captures sent without an account: each one may cost the server up to
CANDOR_CAPTURE_CPU_S of processor time, so one address may send CANDOR_CAPTURE_RATE of them.
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class CaptureRateThrottle(SimpleRateThrottle):
    """Counts POSTs (the requests that carry a capture) per client address; reading a page or a challenge is free."""

    scope = "capture"

    def get_rate(self):
        # Read at request time, so the configured rate is the one in force.
        return settings.CANDOR_CAPTURE_RATE

    def allow_request(self, request, view):
        if request.method != "POST":
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
