"""Output choices and the library: a 16:9 render on a colour, its thumbnail, SRT beside WebVTT, titles, and the share
page's embed view, Open Graph tags and verifier link; out-of-range choices are refused with a reason."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from django.urls import reverse
from PIL import Image

from inference import media
from studio.models import Render
from tests.helpers import module_render, portrait_with_active_consent

pytestmark = pytest.mark.django_db

SCRIPT = "Hello there, nice to meet you. This video shows what the output choices do."
BACKGROUND = "#204060"


@pytest.fixture(scope="module")
def wide_render(django_db_setup, django_db_blocker, portrait_jpeg):
    """One 16:9 render at 480 px on a colour (the square photo leaves bands at the sides), made by the real pipeline
    and shared read-only by this module."""
    with module_render(
        django_db_blocker,
        portrait_jpeg,
        username="wide-owner",
        text=SCRIPT,
        aspect_ratio="16:9",
        long_side=480,
        background=BACKGROUND,
    ) as done:
        yield done


@pytest.fixture
def owner_client(client, wide_render):
    client.force_login(wide_render.owner)
    return client


def test_a_16_9_render_is_480_px_wide_with_the_colour_beside_the_portrait(wide_render):
    frame = next(iter(media.video_frames(Path(wide_render.video.path))))

    assert frame.shape[:2] == (270, 480)
    # The square photo fills the height (270 px) in the middle; the bands at the sides show the chosen colour, below
    # the top-left label: their median is the colour within H.264's colour rounding, and nearly every pixel is within
    # that plus the invisible watermark's few levels (a stray pixel may differ more, so the bound is on the 99th
    # percentile, not the maximum).
    for band in (frame[100:260, 10:90], frame[100:260, 390:470]):
        deviation = band.reshape(-1, 3).astype(int) - (0x20, 0x40, 0x60)
        assert np.abs(np.median(deviation, axis=0)).max() <= 6
        assert np.percentile(np.abs(deviation).max(axis=1), 99) <= 12
    assert np.abs(frame[100:260, 200:280].astype(int) - (0x20, 0x40, 0x60)).max() > 60


def test_the_render_keeps_a_thumbnail_frame_shown_in_the_library(owner_client, wide_render):
    response = owner_client.get(reverse("render-thumbnail", args=[wide_render.id]))

    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    thumbnail = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert thumbnail.size == (480, 270)
    page = owner_client.get(reverse("dashboard")).content.decode()
    assert reverse("render-thumbnail", args=[wide_render.id]) in page
    assert "Hello there, nice to meet you." in page  # the default title: the script's start


def test_the_default_title_is_the_start_of_the_script_cut_at_a_word(wide_render):
    assert wide_render.title == "Hello there, nice to meet you. This video shows what the…"


def test_srt_captions_have_the_same_cues_at_the_same_times_as_webvtt(owner_client, wide_render):
    vtt = b"".join(owner_client.get(reverse("render-captions", args=[wide_render.id])).streaming_content).decode()
    response = owner_client.get(reverse("render-captions-srt", args=[wide_render.id]) + "?download=1")
    srt = b"".join(response.streaming_content).decode()

    assert response.status_code == 200 and 'filename="candor-' in response["Content-Disposition"]
    vtt_times = re.findall(r"(\d\d:\d\d:\d\d)\.(\d{3}) --> (\d\d:\d\d:\d\d)\.(\d{3})", vtt)
    srt_times = re.findall(r"(\d\d:\d\d:\d\d),(\d{3}) --> (\d\d:\d\d:\d\d),(\d{3})", srt)
    assert len(vtt_times) >= 2 and srt_times == vtt_times
    assert srt.startswith("1\n") and "WEBVTT" not in srt
    page = owner_client.get(reverse("render", args=[wide_render.id])).content.decode()
    assert "Download captions (SRT)" in page


def test_the_creator_renames_a_video_and_a_too_long_title_is_refused_with_the_input_kept(owner_client, wide_render):
    url = reverse("render-title", args=[wide_render.id])
    too_long = "A" * 121

    refused = owner_client.post(url, {"title": too_long})

    assert refused.status_code == 400
    assert f'value="{too_long}"' in refused.content.decode()
    assert Render.objects.get(id=wide_render.id).title == wide_render.title

    renamed = owner_client.post(url, {"title": "  Spring   launch  "})
    assert renamed.status_code == 302
    assert Render.objects.get(id=wide_render.id).title == "Spring launch"

    owner_client.post(url, {"title": ""})
    assert Render.objects.get(id=wide_render.id).title == wide_render.title


def test_the_share_page_has_open_graph_tags_an_embed_snippet_and_a_verify_button(client, wide_render):
    from studio.sharing import share_link_create

    link = share_link_create(render=wide_render)
    share_url = f"http://testserver/watch/{link.token}/"

    page = client.get(reverse("shared", args=[link.token])).content.decode()

    assert '<meta property="og:type" content="video.other">' in page
    assert f'<meta property="og:video" content="{share_url}video.mp4">' in page
    assert f'<meta property="og:image" content="{share_url}thumbnail.jpg">' in page
    assert f'<meta property="og:url" content="{share_url}">' in page
    assert "og:title" in page and wide_render.title in page
    assert f"&lt;iframe src=&quot;{share_url}embed/&quot;" in page
    verify_href = re.search(r'href="([^"]+)" data-verify-share', page).group(1).replace("&amp;", "&")
    verify_page = client.get(verify_href).content.decode()
    assert f'value="{share_url}"' in verify_page


def test_only_the_embed_view_may_be_framed_and_it_shows_the_badge(client, wide_render):
    from studio.sharing import share_link_create

    link = share_link_create(render=wide_render)

    embed = client.get(reverse("shared-embed", args=[link.token]))
    page = client.get(reverse("shared", args=[link.token]))

    assert embed.status_code == 200 and "X-Frame-Options" not in embed
    assert page["X-Frame-Options"] == "DENY"
    body = embed.content.decode()
    assert "data-ai-badge" in body and "AI-generated" in body and f"/watch/{link.token}/video.mp4" in body


def test_a_revoked_share_link_opens_no_embed_and_no_thumbnail(client, wide_render):
    from studio.sharing import share_link_create, share_links_revoke

    link = share_link_create(render=wide_render)
    share_links_revoke(render=wide_render)

    assert client.get(reverse("shared-embed", args=[link.token])).status_code == 404
    assert client.get(reverse("shared-thumbnail", args=[link.token])).status_code == 404


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        ({"long_side": 1081}, "between 240 and 1080 pixels; 1081 was asked for"),
        ({"aspect_ratio": "4:3"}, "the aspect ratio must be one of original, 16:9, 9:16, 1:1"),
        ({"background": "red"}, 'the background must be "blur" or a colour'),
        ({"title": "T" * 121}, "a title is at most 120 characters"),
    ],
)
def test_out_of_range_output_choices_are_refused_and_nothing_is_stored(creator, api, portrait_jpeg, choice, message):
    portrait = portrait_with_active_consent(creator, portrait_jpeg)
    request = {"portrait": str(portrait.id), "purpose": "marketing", "text": "Hi.", "language": "en", **choice}

    response = api.post(reverse("api-renders"), request, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid" and message in response.json()["detail"]
    assert not Render.objects.filter(owner=creator).exists()


def test_the_largest_resolution_and_each_aspect_are_accepted(creator, portrait_jpeg):
    from studio.services import render_enqueue

    portrait = portrait_with_active_consent(creator, portrait_jpeg)
    for aspect in ("16:9", "9:16", "1:1"):
        queued = render_enqueue(
            owner=creator,
            portrait=portrait,
            purpose="marketing",
            text="Hi.",
            language="en",
            aspect_ratio=aspect,
            long_side=1080,
            dispatch=False,
        )
        assert (queued.aspect_ratio, queued.long_side, queued.background) == (aspect, 1080, "blur")


def test_the_new_video_form_keeps_the_output_choices_after_a_refusal(creator, client, portrait_jpeg):
    portrait = portrait_with_active_consent(creator, portrait_jpeg)
    client.force_login(creator)

    response = client.post(
        reverse("render-new"),
        {
            "portrait": portrait.id,
            "purpose": "marketing",
            "source": "text",
            "text": "",
            "language": "en",
            "aspect_ratio": "9:16",
            "long_side": "1080",
            "background_fill": "colour",
            "background_colour": "#aa5500",
            "label": "on",
        },
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'<option value="9:16" selected>', page)
    assert re.search(r'<option value="1080" selected>', page)
    assert 'value="#aa5500"' in page and re.search(r'value="colour"[^>]*checked', page)
    assert not Render.objects.filter(owner=creator).exists()


def test_the_new_video_form_passes_the_output_choices_to_the_render(creator, client, portrait_jpeg):
    portrait = portrait_with_active_consent(creator, portrait_jpeg)
    client.force_login(creator)

    response = client.post(
        reverse("render-new"),
        {
            "portrait": portrait.id,
            "purpose": "marketing",
            "source": "text",
            "text": "Hi there.",
            "language": "en",
            "aspect_ratio": "16:9",
            "long_side": "720",
            "background_fill": "colour",
            "background_colour": "#AA5500",
            "label": "on",
        },
    )

    assert response.status_code == 302
    stored = Render.objects.get(owner=creator)
    assert (stored.aspect_ratio, stored.long_side, stored.background, stored.title) == (
        "16:9",
        720,
        "#aa5500",
        "Hi there.",
    )


def test_erasing_the_portrait_deletes_its_thumbnails_and_titles(creator, portrait_jpeg, astronaut):
    from studio.services import portrait_erase, render_enqueue, render_thumbnail_save

    portrait = portrait_with_active_consent(creator, portrait_jpeg)
    queued = render_enqueue(
        owner=creator, portrait=portrait, purpose="marketing", text="Hi there.", language="en", dispatch=False
    )
    name = render_thumbnail_save(render=queued, frame=astronaut)
    Render.objects.filter(id=queued.id).update(thumbnail=name)
    from django.core.files.storage import default_storage

    assert default_storage.exists(name)

    portrait_erase(portrait=portrait)

    erased = Render.objects.get(id=queued.id)
    assert not default_storage.exists(name) and erased.thumbnail.name == "" and erased.title == ""


def test_the_preview_has_the_asked_shape(creator, api, portrait_jpeg, tmp_path):
    portrait = portrait_with_active_consent(creator, portrait_jpeg)
    request = {"portrait": str(portrait.id), "purpose": "marketing", "text": "Hi there.", "language": "en"}

    response = api.post(reverse("api-render-preview"), {**request, "aspect_ratio": "9:16", "long_side": 480})

    assert response.status_code == 200
    path = tmp_path / "preview.mp4"
    path.write_bytes(response.content)
    assert next(iter(media.video_frames(path))).shape[:2] == (480, 270)
    refused = api.post(reverse("api-render-preview"), {**request, "long_side": 1200})
    assert refused.status_code == 400 and "1200 was asked for" in refused.json()["detail"]


def test_after_revocation_the_thumbnail_is_neither_listed_nor_served(creator, client, portrait_jpeg, astronaut):
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from consent.services import consent_revoke
    from studio.services import render_enqueue, render_thumbnail_save

    portrait = portrait_with_active_consent(creator, portrait_jpeg)
    queued = render_enqueue(
        owner=creator, portrait=portrait, purpose="marketing", text="Hi there.", language="en", dispatch=False
    )
    queued.video.save(f"{queued.id}.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64), save=False)
    Render.objects.filter(id=queued.id).update(
        status=Render.Status.DONE,
        video=queued.video.name,
        thumbnail=render_thumbnail_save(render=queued, frame=astronaut),
        finished_at=timezone.now(),
    )
    client.force_login(creator)
    thumbnail_url = reverse("render-thumbnail", args=[queued.id])
    assert thumbnail_url in client.get(reverse("dashboard")).content.decode()

    consent_revoke(revoke_token=queued.consent.revoke_token)

    assert thumbnail_url not in client.get(reverse("dashboard")).content.decode()
    assert client.get(thumbnail_url).status_code == 403


def test_the_localize_form_gives_every_language_version_the_output_choices(creator, client, portrait_jpeg):
    portrait = portrait_with_active_consent(creator, portrait_jpeg)
    client.force_login(creator)
    rows = {"rows-TOTAL_FORMS": "4", "rows-INITIAL_FORMS": "0", "rows-MIN_NUM_FORMS": "0", "rows-MAX_NUM_FORMS": "4"}
    versions = {"rows-0-language": "en", "rows-0-text": "Hi there.", "rows-1-language": "de", "rows-1-text": "Hallo."}

    response = client.post(
        reverse("renders-localize"),
        {
            "portrait": portrait.id,
            "purpose": "marketing",
            "label": "on",
            "aspect_ratio": "1:1",
            "long_side": "720",
            **rows,
            **versions,
        },
    )

    assert response.status_code == 302, re.findall(r"class=\"error\"[^>]*>(.*?)</", response.content.decode())
    shapes = set(
        Render.objects.filter(owner=creator).values_list("language", "aspect_ratio", "long_side", "background")
    )
    assert shapes == {("en", "1:1", 720, "blur"), ("de", "1:1", 720, "blur")}
