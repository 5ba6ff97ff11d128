"""Creator pages: the dashboard (portraits, consents, renders)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponseForbidden
from django.shortcuts import render

from consent.selectors import consent_latest_for_portrait, portrait_consent_state
from consent.services import consent_status_now

from . import selectors
from .models import Render


@login_required
def dashboard(request):
    portraits = [
        {"portrait": p, "consent_state": portrait_consent_state(p), "consent": consent_latest_for_portrait(portrait=p)}
        for p in selectors.portraits_of(owner=request.user)[:50]
    ]
    renders = selectors.renders_of(owner=request.user)[:50]
    return render(request, "studio/dashboard.html", {"portraits": portraits, "renders": renders})


@login_required
def render_video(request, render_id):
    item = selectors.render_of(owner=request.user, render_id=render_id)
    if item.status != Render.Status.DONE or not item.video or consent_status_now(item.consent) != "active":
        return HttpResponseForbidden("This video is not available (not finished, or the person pictured withdrew consent).")
    return FileResponse(item.video.open("rb"), content_type="video/mp4")
