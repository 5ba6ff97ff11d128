"""Pages for the person pictured (decide with a live capture, revoke, erase) and the do-not-generate registry; forms work without JavaScript."""

from __future__ import annotations

from datetime import UTC, datetime, time

from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import ApplicationError, ErrorCode

from .models import PURPOSES, Consent
from .selectors import consent_get, registry_entry_get, registry_entry_get_by_remove_token
from .services import (
    consent_challenge_issue,
    consent_decide,
    consent_erase,
    consent_revoke,
    consent_text,
    registry_capture_submit,
    registry_challenge_issue,
    registry_confirm,
    registry_entry_start,
    registry_remove,
)


def _end_of_day(value: str):
    """A date from the form as the end of that day (UTC); None when left empty."""
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as error:
        raise ApplicationError(ErrorCode.INVALID_SCOPE, "the end date must be a date (YYYY-MM-DD)") from error
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


@require_http_methods(["GET", "POST"])
def consent_page(request, token):
    try:
        consent = consent_get(token=token)
    except ApplicationError as error:
        return render(request, "consent/message.html", {"title": "Link not found", "message": error.detail}, status=404)
    error_message = None
    if request.method == "POST":
        capture = request.FILES.get("capture")
        try:
            consent = consent_decide(
                consent=consent,
                decision=request.POST.get("decision", ""),
                challenge_id=request.POST.get("challenge_id", ""),
                full_name=request.POST.get("full_name", ""),
                capture=capture.read() if capture is not None else None,
                purposes=request.POST.getlist("purposes") or None,
                languages=request.POST.getlist("languages") or None,
                expires_at=_end_of_day(request.POST.get("expires_at", "")),
                consent_text_sha256=request.POST.get("consent_text_sha256") or None,
            )
            return render(request, "consent/decided.html", {"consent": consent})
        except ApplicationError as error:
            error_message = error.detail
            consent.refresh_from_db()
    challenge = consent_challenge_issue(consent=consent)
    context = {
        "consent": consent,
        "challenge": challenge,
        "purposes": PURPOSES,
        "error": error_message,
        "text": consent_text(consent),
        "any_language": ["any"],
    }
    return render(request, "consent/consent_page.html", context, status=400 if error_message else 200)


@require_GET
def consent_portrait(request, token):
    """The photo being asked about, shown on the person's own page while the request is open."""
    consent = Consent.objects.select_related("portrait").filter(token=token, status=Consent.Status.PENDING).first()
    if consent is None or not consent.portrait.image:
        raise Http404("no open request with this link")
    return FileResponse(consent.portrait.image.open("rb"), content_type="image/jpeg")


@require_http_methods(["GET", "POST"])
def revoke_page(request, revoke_token):
    if request.method == "GET":
        return render(request, "consent/revoke.html", {"revoke_token": revoke_token})
    erase = request.POST.get("action") == "erase"
    try:
        consent = consent_erase(revoke_token=revoke_token) if erase else consent_revoke(revoke_token=revoke_token)
    except ApplicationError as error:
        return render(request, "consent/message.html", {"title": "Link not found", "message": error.detail}, status=404)
    if erase:
        message = "Your photo, your face's measurements and the videos made with it were deleted; consent is revoked."
        return render(request, "consent/message.html", {"title": "Erased", "message": message})
    return render(
        request,
        "consent/message.html",
        {
            "title": "Consent revoked",
            "message": f"Your consent is now {consent.status}. No new videos can be made with your face, and pending ones were stopped.",
        },
    )


@require_http_methods(["GET", "POST"])
def registry_confirm_page(request, confirm_token):
    if request.method == "GET":
        return render(request, "consent/registry_confirm.html", {})
    try:
        registry_confirm(confirm_token=confirm_token)
    except ApplicationError as error:
        return render(
            request,
            "consent/message.html",
            {"title": "Not confirmed", "message": error.detail},
            status=error.status_code,
        )
    message = "Your face is now in Candor's do-not-generate registry: photos of it are refused. We emailed you a link to remove it."
    return render(request, "consent/message.html", {"title": "Registered", "message": message})


@require_http_methods(["GET", "POST"])
def registry_page(request):
    """Start a do-not-generate registration: an email address, then a live capture."""
    if request.method == "GET":
        return render(request, "consent/registry_start.html", {})
    try:
        entry = registry_entry_start(email=request.POST.get("email", ""))
    except ApplicationError as error:
        return render(request, "consent/registry_start.html", {"error": error.detail}, status=400)
    return redirect("registry-capture", entry_id=entry.id)


@require_http_methods(["GET", "POST"])
def registry_capture_page(request, entry_id):
    try:
        entry = registry_entry_get(entry_id=entry_id)
    except ApplicationError as error:
        return render(request, "consent/message.html", {"title": "Not found", "message": error.detail}, status=404)
    error_message = None
    if request.method == "POST":
        capture = request.FILES.get("capture")
        try:
            registry_capture_submit(
                entry=entry,
                capture=capture.read() if capture is not None else None,
                challenge_id=request.POST.get("challenge_id", ""),
            )
            message = "We emailed you a link: your face is registered once you confirm there."
            return render(request, "consent/message.html", {"title": "Check your email", "message": message})
        except ApplicationError as error:
            error_message = error.detail
            entry.refresh_from_db()
    context = {
        "entry": entry,
        "challenge": registry_challenge_issue(entry=entry),
        "error": error_message,
        "removal": False,
    }
    return render(request, "consent/registry_capture.html", context, status=400 if error_message else 200)


@require_http_methods(["GET", "POST"])
def registry_remove_page(request, remove_token):
    try:
        entry = registry_entry_get_by_remove_token(remove_token=remove_token)
    except ApplicationError as error:
        return render(request, "consent/message.html", {"title": "Not found", "message": error.detail}, status=404)
    error_message = None
    if request.method == "POST":
        capture = request.FILES.get("capture")
        try:
            registry_remove(
                entry=entry,
                capture=capture.read() if capture is not None else None,
                challenge_id=request.POST.get("challenge_id", ""),
            )
            message = "Your face is no longer in Candor's do-not-generate registry."
            return render(request, "consent/message.html", {"title": "Registration removed", "message": message})
        except ApplicationError as error:
            error_message = error.detail
            entry.refresh_from_db()
    context = {
        "entry": entry,
        "challenge": registry_challenge_issue(entry=entry),
        "error": error_message,
        "removal": True,
    }
    return render(request, "consent/registry_capture.html", context, status=400 if error_message else 200)
