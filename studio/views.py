"""Creator pages (account, portraits, consent requests, videos, localization) and the public page on how Candor
works.
"""

from __future__ import annotations

import base64
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from consent import selectors as consent_selectors
from consent.models import Consent
from consent.selectors import consent_active_get, consent_latest_get, consent_previews_left, consent_state_get
from consent.services import ROUTED_NOTICE, consent_request_create
from core.errors import ApplicationError, ErrorCode
from core.http import public_url
from core.languages import ANY_LANGUAGE
from inference import media

from . import accounts, selectors, services, sharing
from .forms import (
    ConsentRequestForm,
    LocalizationRowFormSet,
    LocalizeForm,
    PortraitUploadForm,
    RenderForm,
    RenderTitleForm,
    SignupForm,
    language_choices,
    portrait_upload_rules,
    voice_choices,
)
from .models import Render
from .qr import qr_svg
from .video_files import (
    captions_file_response,
    share_extras,
    thumbnail_file_response,
    video_context,
    video_file_response,
    video_unavailable,
)
from .voices import spoken_language_name, voice_sample_get, voices_of_language

FINISHED = (Render.Status.DONE, Render.Status.FAILED, Render.Status.CANCELLED)


def _portrait_row(portrait) -> dict:
    active = consent_active_get(portrait=portrait)
    return {
        "portrait": portrait,
        "consent_state": consent_state_get(portrait=portrait),
        "consent": consent_latest_get(portrait=portrait),
        "previews_left": None if active is None else consent_previews_left(active),
    }


def _refusal(form, error: ApplicationError) -> None:
    """A service's refusal becomes a form error the creator reads next to the form, never a server error."""
    form.add_error(None, error.detail)


def dashboard(request):
    """The creator's dashboard; a visitor who is not logged in gets the landing page instead of the login form."""
    if not request.user.is_authenticated:
        return render(request, "pages/landing.html")
    portraits = [_portrait_row(p) for p in selectors.portrait_list(owner=request.user)[:50]]
    renders = selectors.render_list(owner=request.user)[:50]
    # A thumbnail shows the face: listed only where the video itself may be watched (the same rule serves both).
    thumbnails = {r.id for r in renders if r.thumbnail and selectors.render_video_unavailable(r) is None}
    return render(
        request,
        "studio/dashboard.html",
        {
            "portraits": portraits,
            "renders": renders,
            "thumbnails": thumbnails,
            "watching": any(r.status not in FINISHED for r in renders),
            "holds": consent_selectors.registry_hold_list(owner=request.user)[:20],
            "erased": selectors.portrait_list_erased(owner=request.user)[:20],
        },
    )


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.save())
        messages.success(request, "Welcome to Candor. Start by uploading a portrait.")
        return redirect("dashboard")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def api_token(request):
    """Only a hash of the token is kept, so a new token is shown on the page that makes it, and never again."""
    if request.method == "POST":
        token = accounts.creator_token_rotate(user=request.user)
        return render(request, "studio/token.html", {"token": token, "has_token": True})
    return render(request, "studio/token.html", {"has_token": accounts.creator_token_exists(user=request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def portrait_new(request):
    form = PortraitUploadForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form, "rules": portrait_upload_rules()}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            portrait = services.portrait_create(
                owner=request.user,
                image=data["image"],
                subject_name=data["subject_name"],
                subject_email=data["subject_email"],
                face_index=data["face"],
            )
        except services.FacesToChoose as choice:
            _refusal(form, choice)
            context["faces_found"] = _faces_found(choice)
        except ApplicationError as error:
            _refusal(form, error)
        else:
            messages.success(
                request, "Portrait uploaded. Check the detected face, then ask the person pictured for consent."
            )
            return redirect("portrait", portrait_id=portrait.id)
    return render(request, "studio/portrait_new.html", context, status=400 if form.errors else 200)


def _faces_found(choice) -> dict:
    """The photo (inline: nothing of a refused upload is stored) and its faces' boxes in percent, to pick one."""
    height, width = choice.pixels.shape[:2]
    return {
        "photo_url": "data:image/jpeg;base64,"
        + base64.b64encode(media.image_encode_jpeg(choice.pixels, quality=80)).decode(),
        "boxes": [
            {
                "index": index,
                "number": index + 1,
                "left": round(100 * x / width, 2),
                "top": round(100 * y / height, 2),
                "width": round(100 * w / width, 2),
                "height": round(100 * h / height, 2),
            }
            for index, (x, y, w, h) in enumerate(choice.boxes)
        ],
    }


@login_required
@require_GET
def portrait_detail(request, portrait_id):
    portrait = selectors.portrait_get(owner=request.user, portrait_id=portrait_id)
    latest = consent_latest_get(portrait=portrait)
    # Asking again starts from what was asked before, never from a wider default.
    form = ConsentRequestForm() if latest is None else ConsentRequestForm.asking_again(latest)
    return _portrait_page(request, portrait, form)


def _consent_tracking(consent) -> dict:
    """What the portrait page says about the newest request: opened or not, the scope asked, the link's expiry, and
    (while it can still be answered, and unless routed to a registered address) the link with its QR code."""
    if consent is None:
        return {}
    tracking: dict[str, Any] = {
        "asked_purposes": consent.requested_purposes,
        "asked_languages": [spoken_language_name(code) for code in consent.requested_languages if code != ANY_LANGUAGE],
    }
    link_open = consent.status == Consent.Status.PENDING and consent.link_expires_at > timezone.now()
    if link_open and not consent.routed:
        url = public_url("consent", consent.token)
        tracking["link"] = url
        tracking["qr"] = qr_svg(url, label=f"QR code of the consent link for {consent.portrait.subject_name}")
    tracking["link_open"] = link_open
    return tracking


def _portrait_page(request, portrait, consent_form, *, status=200):
    row = _portrait_row(portrait)
    return render(
        request,
        "studio/portrait_detail.html",
        {
            **row,
            "tracking": _consent_tracking(row["consent"]),
            "consent_form": consent_form,
            "renders": selectors.render_list(owner=request.user).filter(portrait=portrait)[:20],
            # Landmark dots scale with the photo so that they read the same at any size.
            "dot_radius": round(max(portrait.width, portrait.height) / 160, 1),
        },
        status=status,
    )


@login_required
@require_GET
def portrait_image(request, portrait_id):
    portrait = selectors.portrait_get(owner=request.user, portrait_id=portrait_id)
    if not portrait.image:
        raise Http404("this portrait has no image")
    return FileResponse(portrait.image.open("rb"), content_type="image/jpeg")


@login_required
@require_POST
def consent_request(request, portrait_id):
    portrait = selectors.portrait_get(owner=request.user, portrait_id=portrait_id)
    form = ConsentRequestForm(request.POST)
    if form.is_valid():
        try:
            consent = consent_request_create(portrait=portrait, requested_by=request.user, **form.scope())
        except ApplicationError as error:
            _refusal(form, error)
            if error.retry_after_s is not None:
                page = _portrait_page(request, portrait, form, status=error.status_code)
                page["Retry-After"] = str(error.retry_after_s)
                return page
        else:
            sent = (
                f"{ROUTED_NOTICE.capitalize()}."
                if consent.routed
                else f"Consent request sent to {portrait.subject_email}."
            )
            messages.success(request, sent)
            return redirect("portrait", portrait_id=portrait.id)
    return _portrait_page(request, portrait, form, status=400)


def _render_form(request) -> tuple[RenderForm, bool]:
    portraits = selectors.portrait_list_consented(owner=request.user)
    form = RenderForm(
        request.POST or None,
        request.FILES or None,
        portraits=portraits,
        initial={"portrait": request.GET.get("portrait")},
    )
    return form, portraits.exists()


@login_required
@require_http_methods(["GET", "POST"])
def render_new(request):
    form, has_portraits = _render_form(request)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            item = services.render_enqueue(
                owner=request.user,
                portrait=data["portrait"],
                purpose=data["purpose"],
                text=data["text"],
                language=data["language"],
                voice=data["voice"],
                audio=data["audio"],
                transcript=data["transcript"],
                label=data["label"],
                label_corner=data["label_corner"],
                **form.output_choices(),
                expression=data["expression"],
            )
        except ApplicationError as error:
            _refusal(form, error)
        else:
            return redirect("render", render_id=item.id)
    return render(
        request,
        "studio/render_new.html",
        {"form": form, "has_portraits": has_portraits},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def render_preview(request):
    """The New video page again, with the first second of the video these inputs would make, or why it was refused."""
    form, has_portraits = _render_form(request)
    preview: dict[str, Any] = {}
    if not form.is_valid():
        preview["error"] = " ".join(str(error) for errors in form.errors.values() for error in errors)
    else:
        data = form.cleaned_data
        try:
            video = services.render_preview(
                portrait=data["portrait"],
                purpose=data["purpose"],
                text=data["text"],
                language=data["language"],
                voice=data["voice"],
                audio=data["audio"],
                transcript=data["transcript"],
                label_corner=data["label_corner"],
                **form.output_choices(),
                expression=data["expression"],
            )
        except ApplicationError as error:
            preview["error"], preview["status"] = error.detail, error.status_code
        else:
            # Inline, so that nothing about the preview is stored on the server.
            preview["video_url"] = "data:video/mp4;base64," + base64.b64encode(video).decode()
    return render(
        request,
        "studio/render_new.html",
        {"form": form, "has_portraits": has_portraits, "preview": preview},
        status=preview.get("status", 400) if "error" in preview else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def localize(request):
    portraits = selectors.portrait_list_consented(owner=request.user)
    form = LocalizeForm(request.POST or None, portraits=portraits, initial={"portrait": request.GET.get("portrait")})
    rows = LocalizationRowFormSet(
        request.POST or None,
        request.FILES or None,
        prefix="rows",
        form_kwargs={"allowed_languages": form.allowed_languages()},
    )
    if request.method == "POST" and form.is_valid() and rows.is_valid():
        data = form.cleaned_data
        try:
            made = services.renders_localize(
                owner=request.user,
                portrait=data["portrait"],
                purpose=data["purpose"],
                versions=rows.versions(),  # type: ignore[attr-defined]  # LocalizationRowFormSet.versions
                label=data["label"],
                label_corner=data["label_corner"],
                **form.output_choices(),
                expression=data["expression"],
            )
        except ApplicationError as error:
            _refusal(form, error)
        else:
            return redirect(f"{reverse('renders-compare')}?" + "&".join(f"id={item.id}" for item in made))
    return render(
        request,
        "studio/localize.html",
        {"form": form, "rows": rows, "has_portraits": portraits.exists()},
        status=400 if (form.errors or rows.total_error_count()) else 200,
    )


@login_required
@require_GET
def renders_compare(request):
    try:
        items = list(
            selectors.render_list_by_ids(owner=request.user, render_ids=request.GET.getlist("id")).order_by("language")
        )
    except ValidationError as error:
        raise Http404("unknown render") from error
    return render(
        request,
        "studio/renders_compare.html",
        {
            "videos": [video_context(item) for item in items],
            "watching": any(r.status not in FINISHED for r in items),
        },
    )


@login_required
@require_GET
def render_detail(request, render_id):
    item = selectors.render_get(owner=request.user, render_id=render_id)
    return _render_detail_page(request, item, title_form=RenderTitleForm(initial={"title": item.title}))


def _render_detail_page(request, item: Render, *, title_form, status: int = 200):
    context = {**video_context(item), "watching": item.status not in FINISHED, "title_form": title_form}
    if not context["unavailable"]:
        link = sharing.share_link_active(render=item)
        if link is not None:
            context["share_url"] = request.build_absolute_uri(reverse("shared", args=[link.token]))
            context["share_expires_at"] = link.expires_at
            context.update(share_extras(request, link.token))
    return render(request, "studio/render_detail.html", context, status=status)


@login_required
@require_POST
def render_share(request, render_id):
    """Make a share link (a new one replaces the open ones), or with action=revoke close every open link."""
    item = selectors.render_get(owner=request.user, render_id=render_id)
    unavailable = video_unavailable(item)
    if request.POST.get("action") == "revoke":
        sharing.share_links_revoke(render=item)
        messages.success(request, "The share link was revoked: it no longer opens the video.")
    elif unavailable:
        messages.error(request, f"This video cannot be shared. {unavailable}")
    else:
        sharing.share_link_create(render=item)
        messages.success(request, "Share link made.")
    return redirect("render", render_id=item.id)


@login_required
@require_GET
def render_status(request, render_id):
    """The small JSON the pages poll every second while a render is queued or running."""
    item = selectors.render_get(owner=request.user, render_id=render_id)
    return JsonResponse(
        {
            "status": item.status,
            "progress": item.progress,
            "percent": round(item.progress * 100),
            "error": item.error,
            "finished": item.status in FINISHED,
        }
    )


@login_required
@require_GET
def render_video(request, render_id):
    return video_file_response(request, selectors.render_get(owner=request.user, render_id=render_id))


@login_required
@require_GET
def render_captions(request, render_id):
    return captions_file_response(request, selectors.render_get(owner=request.user, render_id=render_id))


@login_required
@require_GET
def render_captions_srt(request, render_id):
    return captions_file_response(request, selectors.render_get(owner=request.user, render_id=render_id), "srt")


@login_required
@require_GET
def render_thumbnail(request, render_id):
    return thumbnail_file_response(selectors.render_get(owner=request.user, render_id=render_id))


@login_required
@require_POST
def render_title(request, render_id):
    """Rename a video; a refusal goes back to its page with the title as typed, and the reason."""
    item = selectors.render_get(owner=request.user, render_id=render_id)
    form = RenderTitleForm(request.POST)
    if form.is_valid():
        try:
            services.render_title_update(render=item, title=form.cleaned_data["title"])
        except ApplicationError as error:
            _refusal(form, error)
        else:
            messages.success(request, "Title saved.")
            return redirect("render", render_id=item.id)
    return _render_detail_page(request, item, title_form=form, status=400)


@login_required
@require_POST
def render_delete(request, render_id):
    services.render_delete(render=selectors.render_get(owner=request.user, render_id=render_id))
    messages.success(request, "The video and its files were deleted.")
    return redirect("dashboard")


@login_required
@require_GET
def voices(request, language):
    """The New video page's voice choices for a language, as [{"value", "label", "gender", "sample_url"}]."""
    if language not in dict(language_choices()):
        raise Http404("unknown language")
    offered = voices_of_language(language)
    return JsonResponse(
        {
            "language": language,
            "voices": [
                {
                    "value": value,
                    "label": label,
                    "gender": voice.gender,
                    "sample_url": reverse("voice-sample", args=[language, voice.id]),
                }
                # voice_choices lists the same voices in the same order, the default one as "".
                for (value, label), voice in zip(voice_choices(language), offered, strict=True)
            ],
        }
    )


@login_required
@require_GET
def voice_sample(request, language, voice):
    """A few seconds of a voice (its language's name and "1, 2, 3"), made on the first request and kept."""
    try:
        name = voice_sample_get(language=language, voice=voice)
    except ApplicationError as error:
        if error.code in (ErrorCode.UNKNOWN_LANGUAGE, ErrorCode.UNKNOWN_VOICE):
            raise Http404(error.detail) from error
        raise
    response = FileResponse(default_storage.open(name, "rb"), content_type="audio/wav")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require_GET
def how_it_works(request):
    return render(request, "pages/how_it_works.html")
