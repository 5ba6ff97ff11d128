"""The public "verify this video" page."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError

from .report import report_as_dict
from .services import upload_verify
from .throttling import VerifyRateThrottle, verification_slot


@require_http_methods(["GET", "POST"])
def verify_page(request):
    if request.method == "GET":
        return render(request, "verifier/verify.html", {})
    throttle = VerifyRateThrottle()
    if not throttle.allow_request(request, view=None):  # type: ignore[arg-type]  # the throttle reads no view
        response = render(
            request,
            "verifier/verify.html",
            {"error": "Too many checks from your address; please wait a minute."},
            status=429,
        )
        response["Retry-After"] = str(int(throttle.wait() or 60))
        return response
    try:
        with verification_slot():
            report = report_as_dict(
                upload_verify(upload=request.FILES.get("video"), url=request.POST.get("url", "").strip())
            )
    except ApplicationError as error:
        response = render(request, "verifier/verify.html", {"error": error.detail}, status=error.status_code)
        if error.retry_after_s is not None:
            response["Retry-After"] = str(error.retry_after_s)
        return response
    return render(request, "verifier/verify.html", {"report": report})
