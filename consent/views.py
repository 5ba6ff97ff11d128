"""Pages for the person pictured (decide with a live capture, revoke, erase) and the face registry (do-not-generate,
send-to-me).

Forms work without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import ApplicationError, ErrorCode
from core.languages import ANY_LANGUAGE
from core.limits import wait_words

from .models import PURPOSES, Consent, RegistryEntry
from .selectors import (
    consent_get,
    consent_get_by_revoke_token,
    registry_entry_get,
    registry_entry_get_by_remove_token,
)
from .services import (
    consent_challenge_issue,
    consent_decide,
    consent_erase,
    consent_link_opened,
    consent_receipt,
    consent_revoke,
    consent_text,
    registry_confirm,
    registry_entry_start,
)
from .throttling import CaptureRateThrottle
from .videos import video_directory


def _end_of_day(value: str):
    """A date from the form as the end of that day (UTC); None when left empty."""
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as error:
        raise ApplicationError(ErrorCode.INVALID_SCOPE, "the end date must be a date (YYYY-MM-DD)") from error
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def _message(request: HttpRequest, title: str, message: str, *, status: int = 200) -> HttpResponse:
    """A page that says one thing: an outcome, or why a link leads nowhere."""
    return render(request, "consent/message.html", {"title": title, "message": message}, status=status)


def _chosen(request: HttpRequest, name: str) -> list[str] | None:
    """The boxes ticked on the page, or None (everything asked) from a form that did not show them.

    A form sends nothing for boxes left unticked, so the page marks that it showed them (`choices_shown`): every box
    unticked is then an empty choice, which is refused, never read as everything asked.
    """
    if request.POST.get("choices_shown") != "1":
        return request.POST.getlist(name) or None
    return request.POST.getlist(name)


def _choices_made(request: HttpRequest, consent: Consent) -> dict:
    """What the form shows ticked and typed: after a refusal, exactly what the person sent (an unticked purpose stays
    unticked); at first, everything asked and the label kept.
    """
    if request.method != "POST":
        return {
            "full_name": "",
            "purposes": consent.requested_purposes,
            "languages": consent.requested_languages,
            "expires_at": "",
            "allow_label_removal": False,
        }
    return {
        "full_name": request.POST.get("full_name", ""),
        "purposes": request.POST.getlist("purposes"),
        "languages": request.POST.getlist("languages"),
        "expires_at": request.POST.get("expires_at", ""),
        "allow_label_removal": request.POST.get("allow_label_removal") == "on",
    }


def _uploaded_capture(request: HttpRequest) -> bytes | None:
    capture = request.FILES.get("capture")
    return capture.read() if capture is not None else None


def _capture_page(
    request: HttpRequest,
    *,
    template: str,
    submit: Callable[[], HttpResponse],
    context: Callable[[str | None], dict],
) -> HttpResponse:
    """The skeleton of every live-capture page: on POST submit (its response on success), else the form again.

    A refusal is shown above the form with status 400, and the form shows the challenge now open. Captures sent
    through the pages count towards the same per-address limit as the API's (429 past it).
    """
    error_message, status = None, 200
    if request.method == "POST":
        throttle = CaptureRateThrottle()
        if not throttle.allow_request(request, None):
            error_message = (
                f"too many captures from your address; try again in {wait_words(int(throttle.wait() or 60))}"
            )
            status = 429
        else:
            try:
                return submit()
            except ApplicationError as error:
                error_message, status = error.detail, 400
    return render(request, template, context(error_message), status=status)


@require_http_methods(["GET", "POST"])
def consent_page(request, token):
    try:
        consent = consent_get(token=token)
    except ApplicationError as error:
        return _message(request, "Link not found", error.detail, status=404)
    if request.method == "GET":
        consent_link_opened(consent=consent, viewer=request.user)

    def submit() -> HttpResponse:
        decided = consent_decide(
            consent=consent,
            decision=request.POST.get("decision", ""),
            challenge_id=request.POST.get("challenge_id", ""),
            full_name=request.POST.get("full_name", ""),
            capture=_uploaded_capture(request),
            purposes=_chosen(request, "purposes"),
            languages=_chosen(request, "languages") if consent.requested_languages != [ANY_LANGUAGE] else None,
            expires_at=_end_of_day(request.POST.get("expires_at", "")),
            consent_text_sha256=request.POST.get("consent_text_sha256") or None,
            allow_label_removal=request.POST.get("allow_label_removal") == "on",
        )
        return render(request, "consent/decided.html", {"consent": decided})

    def context(error_message: str | None) -> dict:
        consent.refresh_from_db()
        return {
            "chosen": _choices_made(request, consent),
            "consent": consent,
            "challenge": consent_challenge_issue(consent=consent),
            "captures_url": reverse("api-consent-captures", args=[token]),
            "purposes": PURPOSES,
            "error": error_message,
            "text": consent_text(consent),
            "any_language": ["any"],
            "max_previews": settings.CANDOR_MAX_PREVIEWS_PER_CONSENT,
        }

    return _capture_page(request, template="consent/consent_page.html", submit=submit, context=context)


@require_GET
def consent_portrait(request, token):
    """The photo being asked about, shown on the person's own page while the request is open."""
    consent = Consent.objects.select_related("portrait").filter(token=token, status=Consent.Status.PENDING).first()
    if consent is None or not consent.portrait.image:
        raise Http404("no open request with this link")
    return FileResponse(consent.portrait.image.open("rb"), content_type="image/jpeg")


# The two endings the revoke link offers: the confirmation page's title, and what happens (erasure cannot be undone).
_ENDINGS = {
    "revoke": "Revoke your consent?",
    "erase": "Erase your photo and face data?",
}


@require_http_methods(["GET", "POST"])
def revoke_page(request, revoke_token):
    """The person's private link: the consent's state now, then revoke or erase, each after a confirmation step.

    A POST without `confirm` shows the confirmation; with it, the action, then this page again (its new state).
    """
    try:
        consent = consent_get_by_revoke_token(revoke_token=revoke_token)
    except ApplicationError as error:
        return _message(request, "Link not found", error.detail, status=404)
    action = request.POST.get("action", "")
    if request.method == "POST" and action in _ENDINGS:
        if request.POST.get("confirm") != "yes":
            return render(
                request,
                "consent/revoke_confirm.html",
                {"consent": consent, "action": action, "title": _ENDINGS[action], "revoke_token": revoke_token},
            )
        if action == "erase":
            consent_erase(revoke_token=revoke_token)
        else:
            consent_revoke(revoke_token=revoke_token)
        return redirect("consent-revoke", revoke_token=revoke_token)
    consent.refresh_from_db()
    return render(
        request,
        "consent/revoke.html",
        {"consent": consent, "revoke_token": revoke_token, "erased_at": consent.portrait.erased_at},
    )


@require_GET
def videos_page(request, token):
    """Every video made with the person's face (from the portrait this link asked about), with its state."""
    try:
        consent = consent_get(token=token)
    except ApplicationError as error:
        return _message(request, "Link not found", error.detail, status=404)
    return render(
        request,
        "consent/videos.html",
        {"consent": consent, "videos": video_directory().videos_of_portrait(consent.portrait_id)},
    )


@require_GET
def receipt_page(request, token):
    """The signed receipt in words; the signed JSON itself stays at the API's receipt address."""
    try:
        consent = consent_get(token=token)
        receipt = consent_receipt(consent=consent)
    except ApplicationError as error:
        return _message(request, "No receipt yet", error.detail, status=error.status_code)
    return render(
        request,
        "consent/receipt.html",
        {
            "consent": consent,
            "receipt": receipt["receipt"],
            "signed": receipt,
            "json_url": reverse("api-consent-receipt", args=[token]),
        },
    )


@require_http_methods(["GET", "POST"])
def registry_confirm_page(request, confirm_token):
    if request.method == "GET":
        return render(request, "consent/registry_confirm.html", {})
    try:
        entry = registry_confirm(confirm_token=confirm_token)
    except ApplicationError as error:
        return _message(request, "Not confirmed", error.detail, status=error.status_code)
    if entry.kind == RegistryEntry.Kind.SEND_TO_ME:
        done = "Consent requests for photos of your face now come to this address only."
    else:
        done = "Your face is now in Candor's do-not-generate registry: photos of it are refused."
    return _message(request, "Registered", f"{done} We emailed you a link to remove it.")


@require_http_methods(["GET", "POST"])
def registry_page(request):
    """Start a registration (do-not-generate or send-to-me): the kind and an email address, then a live capture."""
    if request.method == "GET":
        return render(request, "consent/registry_start.html", {"kind": request.GET.get("kind", "")})
    kind = request.POST.get("kind", RegistryEntry.Kind.DO_NOT_GENERATE)
    try:
        entry = registry_entry_start(email=request.POST.get("email", ""), kind=kind)
    except ApplicationError as error:
        return render(request, "consent/registry_start.html", {"error": error.detail, "kind": kind}, status=400)
    return redirect("registry-capture", entry_id=entry.id)


def _registry_capture_done(entry: RegistryEntry, *, removal: bool) -> tuple[str, str]:
    """What the page says once its live check registered (pending the email confirmation) or removed the entry."""
    if not removal:
        return "Check your email", "We emailed you a link: your face is registered once you confirm there."
    if entry.kind == RegistryEntry.Kind.SEND_TO_ME:
        return "Registration removed", "Consent requests for your face no longer come to this address."
    return "Registration removed", "Your face is no longer in Candor's do-not-generate registry."


def _registry_capture_page(request: HttpRequest, entry: RegistryEntry, *, captures_url: str, removal: bool):
    """The registry's live check: the page streams it to `captures_url` (the registry accepts no recorded file)."""
    done_title, done_message = _registry_capture_done(entry, removal=removal)
    return render(
        request,
        "consent/registry_capture.html",
        {
            "entry": entry,
            "removal": removal,
            "captures_url": captures_url,
            "done_title": done_title,
            "done_message": done_message,
        },
    )


@require_GET
def registry_capture_page(request, entry_id):
    try:
        entry = registry_entry_get(entry_id=entry_id)
    except ApplicationError as error:
        return _message(request, "Not found", error.detail, status=404)
    return _registry_capture_page(
        request, entry, captures_url=reverse("api-registry-captures", args=[entry.id]), removal=False
    )


@require_GET
def registry_remove_page(request, remove_token):
    try:
        entry = registry_entry_get_by_remove_token(remove_token=remove_token)
    except ApplicationError as error:
        return _message(request, "Not found", error.detail, status=404)
    return _registry_capture_page(
        request, entry, captures_url=reverse("api-registry-remove-captures", args=[remove_token]), removal=True
    )
