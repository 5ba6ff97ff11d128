"""Answers 503 with a retry hint while the database cannot be reached; limits guessing of link and API tokens."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from core import limits

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


# URL arguments that are capabilities: whoever holds one may act, so they must not be found by trying.
TOKEN_ARGUMENTS = frozenset({"token", "revoke_token", "confirm_token", "remove_token"})


class TokenGuessLimitMiddleware:
    """Link tokens that lead nowhere (404) and API tokens that are refused (401) count against the client's address;
    past CANDOR_TOKEN_FAILURES_PER_ADDRESS the address gets 429 for CANDOR_TOKEN_LOCKOUT_S, even with a valid token."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == getattr(request, "token_refused_status", None):
            limits.failure_record(scope=limits.TOKEN_ADDRESS, key=limits.client_address(request))
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        # How a wrong token shows: a link that leads nowhere, or an API token the API does not know.
        if TOKEN_ARGUMENTS & view_kwargs.keys():
            request.token_refused_status = 404
        elif "HTTP_AUTHORIZATION" in request.META:
            request.token_refused_status = 401
        else:
            return None
        wait = limits.failures_wait(scope=limits.TOKEN_ADDRESS, key=limits.client_address(request))
        if not wait:
            return None
        detail = (
            "too many links or tokens that do not exist were tried from your address; try again in "
            f"{limits.wait_words(wait)}"
        )
        response: HttpResponse
        if request.path_info.startswith("/api/"):
            response = JsonResponse({"error": "throttled", "detail": detail}, status=429)
        else:
            response = render(
                request,
                "consent/message.html",
                {"title": "Too many attempts", "message": detail.capitalize() + "."},
                status=429,
            )
        response["Retry-After"] = str(wait)
        return response
