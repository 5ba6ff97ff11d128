"""Answers 503 with a retry hint, in the API's error shape, while the database cannot be reached."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    """A database restart or failover is brief: clients are told to retry rather than shown a traceback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.warning("database unavailable for %s %s: %s", request.method, request.path, exception)
        response = JsonResponse(
            {"error": "service_unavailable", "detail": "the database is briefly unavailable; please retry shortly"},
            status=503,
        )
        response["Retry-After"] = str(settings.CANDOR_DB_RETRY_AFTER_S)
        return response
