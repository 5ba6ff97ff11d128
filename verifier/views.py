"""The public "verify this video" page."""

from __future__ import annotations

import base64

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError

from .report import plain_facts, report_as_dict
from .services import upload_verify
from .throttling import VerifyRateThrottle, verification_slot

# The API's wording for an empty request names its fields; a person on the page is told what to do instead.
NOTHING_CHOSEN = "Choose a video file to verify, or paste a Candor link to one."


@require_http_methods(["GET", "POST"])
def verify_page(request):
    if request.method == "GET":
        # ?url= fills the link in: a share page's "Verify this video" button opens the verifier this way.
        return render(request, "verifier/verify.html", {"url": request.GET.get("url", "").strip()[:2000]})
    upload, url = request.FILES.get("video"), request.POST.get("url", "").strip()
    # What was sent comes back with any refusal: the link stays in its field, the file's name is shown.
    sent = {"url": url, "file_name": upload.name if upload is not None else url}
    if upload is None and not url:
        return render(request, "verifier/verify.html", {**sent, "error": NOTHING_CHOSEN}, status=400)
    throttle = VerifyRateThrottle()
    if not throttle.allow_request(request, view=None):  # type: ignore[arg-type]  # the throttle reads no view
        response = render(
            request,
            "verifier/verify.html",
            {**sent, "error": "Too many checks from your address; please wait a minute."},
            status=429,
        )
        response["Retry-After"] = str(int(throttle.wait() or 60))
        return response
    try:
        with verification_slot():
            report = upload_verify(upload=upload, url=url)
    except ApplicationError as error:
        response = render(request, "verifier/verify.html", {**sent, "error": error.detail}, status=error.status_code)
        if error.retry_after_s is not None:
            response["Retry-After"] = str(error.retry_after_s)
        return response
    thumbnail = (
        None
        if report.thumbnail_jpeg is None
        else "data:image/jpeg;base64," + base64.b64encode(report.thumbnail_jpeg).decode("ascii")
    )
    return render(
        request,
        "verifier/verify.html",
        {**sent, "report": report_as_dict(report), "facts": plain_facts(report), "thumbnail": thumbnail},
    )
