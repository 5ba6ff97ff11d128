"""Pages for the person pictured: review and decide on a request, and revoke; both work without JavaScript."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from studio.exceptions import ApplicationError

from .models import PURPOSES
from .services import consent_challenge_issue, consent_decide, consent_for_token, consent_revoke


@require_http_methods(["GET", "POST"])
def consent_page(request, token):
    try:
        consent = consent_for_token(token=token)
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
            )
            return render(request, "consent/decided.html", {"consent": consent})
        except ApplicationError as error:
            error_message = error.detail
            consent.refresh_from_db()
    challenge = consent_challenge_issue(consent=consent)
    return render(
        request,
        "consent/consent_page.html",
        {"consent": consent, "challenge": challenge, "purposes": PURPOSES, "error": error_message},
        status=400 if error_message else 200,
    )


@require_http_methods(["GET", "POST"])
def revoke_page(request, revoke_token):
    if request.method == "GET":
        return render(request, "consent/revoke.html", {"revoke_token": revoke_token})
    try:
        consent = consent_revoke(revoke_token=revoke_token)
    except ApplicationError as error:
        return render(request, "consent/message.html", {"title": "Link not found", "message": error.detail}, status=404)
    return render(request, "consent/message.html", {"title": "Consent revoked", "message": f"Your consent is now {consent.status}. No new videos can be made with your face, and pending ones were stopped."})
