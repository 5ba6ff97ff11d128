"""The public "verify this video" page."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from studio.exceptions import ApplicationError

from .services import report_as_dict, upload_verify
from .throttling import VerifyRateThrottle


@require_http_methods(["GET", "POST"])
def verify_page(request):
    if request.method == "GET":
        return render(request, "provenance/verify.html", {})
    throttle = VerifyRateThrottle()
    if not throttle.allow_request(request, view=None):
        response = render(request, "provenance/verify.html", {"error": "Too many checks from your address; please wait a minute."}, status=429)
        response["Retry-After"] = str(int(throttle.wait() or 60))
        return response
    try:
        report = report_as_dict(upload_verify(upload=request.FILES.get("video"), url=request.POST.get("url", "").strip()))
    except ApplicationError as error:
        return render(request, "provenance/verify.html", {"error": error.detail}, status=error.status_code)
    return render(request, "provenance/verify.html", {"report": report})
