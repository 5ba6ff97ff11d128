"""Creator and public pages through Django's test client: accounts, portraits, consent requests, videos, captions,
privacy.
"""

from __future__ import annotations

import io
import re

import av
import numpy as np
import pytest
import soundfile
from django.test import Client

from inference import speech
from studio.captions import captions_webvtt
from studio.models import Portrait, Render
from studio.services import render_run
from tests.helpers import upload_portrait

from .approval import consent_approved

pytestmark = pytest.mark.django_db(transaction=True)


def _file(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


@pytest.fixture
def portrait_id(api, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    consent_approved(portrait_id=portrait_id)
    return portrait_id


def test_a_new_creator_signs_up_and_lands_on_the_dashboard(client):
    response = client.post(
        "/signup/",
        {
            "username": "grace",
            "email": "grace@example.com",
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/"
    assert b"Your portraits" in response.content and response.context["user"].username == "grace"


def test_a_forgotten_password_is_reset_through_the_emailed_link(client, creator, outbox):
    response = client.post("/password-reset/", {"email": "ada@example.com"}, follow=True)
    assert b"Check your email" in response.content
    links = outbox.links(r"https?://[^/\s]+(/password-reset/[^/\s]+/[^/\s]+/)")
    assert links, "no reset link was emailed"
    form_page = client.get(links[-1], follow=True)
    assert b"Choose a new password" in form_page.content
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "brand-new-secret-42", "new_password2": "brand-new-secret-42"},
        follow=True,
    )
    assert b"Password changed" in done.content
    assert Client().login(username="ada", password="brand-new-secret-42")


def test_the_token_page_shows_a_new_token_once_and_can_replace_it(page, public_api):
    assert b"You have no token yet" in page.get("/account/token/").content
    made = page.post("/account/token/").content
    token = re.search(rb'id="api-token"[^>]*value="([0-9a-f]{40})"', made).group(1).decode()
    public_api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert public_api.get("/api/portraits/").status_code == 200
    later = page.get("/account/token/").content
    assert token.encode() not in later and b"cannot be shown again" in later, "only a hash is kept"
    page.post("/account/token/")
    assert public_api.get("/api/portraits/").status_code == 401


def test_an_uploaded_portrait_shows_its_face_box_and_landmarks(page, portrait_jpeg):
    response = page.post(
        "/portraits/new/",
        {
            "image": _file(portrait_jpeg, "me.jpg"),
            "subject_name": "Eileen Collins",
            "subject_email": "eileen@example.com",
        },
        follow=True,
    )
    portrait = Portrait.objects.get()
    assert response.redirect_chain[-1][0] == f"/portraits/{portrait.id}/"
    html = response.content.decode()
    x, y, w, h = portrait.face_box
    assert f'<rect x="{x}" y="{y}" width="{w}" height="{h}"' in html
    assert html.count("<circle ") == 68
    assert page.get(f"/portraits/{portrait.id}/image/")["Content-Type"] == "image/jpeg"


def test_a_photo_without_a_face_is_refused_with_the_reason(page, no_face_jpeg):
    response = page.post(
        "/portraits/new/",
        {"image": _file(no_face_jpeg, "cup.jpg"), "subject_name": "Nobody", "subject_email": "n@example.com"},
    )
    assert response.status_code == 400
    assert b'role="alert"' in response.content and b"face" in response.content
    assert not Portrait.objects.exists()


def test_the_dashboard_sends_a_consent_request_and_shows_it_pending(page, api, portrait_jpeg, outbox):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    assert b"not asked yet" in page.get("/").content
    response = page.post(f"/portraits/{portrait_id}/consent-request/", {}, follow=True)
    assert b"Consent request sent to eileen@example.com" in response.content
    assert outbox.links(r"/consent/([A-Za-z0-9_\-]+)/")
    assert b'class="badge pending"' in page.get("/").content


def test_a_consent_request_with_an_unknown_language_is_refused_on_the_page(page, api, portrait_jpeg, outbox):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    response = page.post(f"/portraits/{portrait_id}/consent-request/", {"languages": ["en", "klingon"]})
    assert response.status_code == 400 and b"klingon" in response.content


def test_new_video_offers_only_portraits_with_active_consent(page, api, portrait_jpeg):
    upload_portrait(api, portrait_jpeg)
    response = page.get("/renders/new/")
    assert b"No portrait has active consent yet" in response.content


def test_a_video_outside_the_consented_languages_is_refused_with_the_reason(page, api, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    consent_approved(portrait_id=portrait_id, languages=["en"])
    response = page.post(
        "/renders/new/",
        {
            "portrait": portrait_id,
            "purpose": "marketing",
            "source": "text",
            "text": "Hallo.",
            "language": "de",
            "label": "on",
        },
    )
    assert response.status_code == 400
    assert b"does not cover the language" in response.content
    assert not Render.objects.exists()


def test_localization_queues_one_video_per_language_and_shows_them_side_by_side(page, portrait_id):
    response = page.post(
        "/renders/localize/",
        {
            "portrait": portrait_id,
            "purpose": "marketing",
            "label": "on",
            "rows-TOTAL_FORMS": "4",
            "rows-INITIAL_FORMS": "0",
            "rows-0-language": "en",
            "rows-0-text": "Welcome to our shop.",
            "rows-1-language": "de",
            "rows-1-text": "Willkommen in unserem Laden.",
            "rows-2-language": "",
            "rows-2-text": "",
            "rows-3-language": "",
            "rows-3-text": "",
        },
        follow=True,
    )
    renders = {r.language: r for r in Render.objects.all()}
    assert set(renders) == {"en", "de"} and renders["de"].text == "Willkommen in unserem Laden."
    html = response.content.decode()
    assert all(f"/renders/{r.id}/status/" in html for r in renders.values())


def test_localization_takes_a_recording_for_a_language_and_refuses_one_outside_the_consent(page, api, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    consent_approved(portrait_id=portrait_id, languages=["en", "fr"])
    # Under a consent limited to languages a recording comes with its transcript, whose language is checked.
    french = "Bonjour à tous, bienvenue dans notre magasin."
    spoken = speech.synthesize(french, "fr")
    recording = io.BytesIO()
    soundfile.write(recording, spoken.audio, spoken.sample_rate, format="WAV")
    form = {
        "portrait": portrait_id,
        "purpose": "marketing",
        "label": "on",
        "rows-TOTAL_FORMS": "2",
        "rows-INITIAL_FORMS": "0",
        "rows-0-language": "en",
        "rows-0-text": "Welcome.",
        "rows-1-language": "de",
        "rows-1-text": "Willkommen.",
    }
    refused = page.post("/renders/localize/", form)
    assert refused.status_code == 400 and b"de: the consent does not cover the language" in refused.content
    assert not Render.objects.exists(), "one refused language queues none"

    form.update(
        {
            "rows-1-language": "fr",
            "rows-1-text": "",
            "rows-1-audio": _file(recording.getvalue(), "bonjour.wav"),
            "rows-1-transcript": french,
        }
    )
    page.post("/renders/localize/", form)
    renders = {r.language: r for r in Render.objects.all()}
    assert set(renders) == {"en", "fr"} and renders["fr"].audio and not renders["fr"].text


def test_a_text_video_gets_captions_from_the_word_timings(page, portrait_id):
    page.post(
        "/renders/new/",
        {
            "portrait": portrait_id,
            "purpose": "marketing",
            "source": "text",
            "text": "Hello there, friends.",
            "language": "en",
            "label": "on",
        },
    )
    item = Render.objects.get()
    render_run(render_id=item.id)
    assert page.get(f"/renders/{item.id}/status/").json() == {
        "status": "done",
        "progress": 1.0,
        "percent": 100,
        "error": "",
        "finished": True,
    }
    detail = page.get(f"/renders/{item.id}/").content.decode()
    assert f'<track kind="captions" src="/renders/{item.id}/captions.vtt" srclang="en"' in detail
    captions = page.get(f"/renders/{item.id}/captions.vtt")
    text = b"".join(captions.streaming_content).decode()
    assert captions["Content-Type"].startswith("text/vtt")
    assert text.startswith("WEBVTT") and "Hello there, friends." in text
    item.refresh_from_db()
    with av.open(item.video.path) as video:
        subtitles = [stream for stream in video.streams if stream.type == "subtitle"]
        assert [stream.codec_context.name for stream in subtitles] == ["mov_text"]
        samples = [bytes(packet)[2:].decode() for packet in video.demux(subtitles[0]) if packet.size > 2]
    assert samples == ["Hello there, friends."]
    assert "attachment" in page.get(f"/renders/{item.id}/captions.vtt?download=1")["Content-Disposition"]
    assert "attachment" in page.get(f"/renders/{item.id}/video/?download=1")["Content-Disposition"]
    whole = b"".join(page.get(f"/renders/{item.id}/video/").streaming_content)
    # Players seek with byte ranges.
    part = page.get(f"/renders/{item.id}/video/", HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 100-199/{len(whole)}"
    assert b"".join(part.streaming_content) == whole[100:200]
    assert b"".join(page.get(f"/renders/{item.id}/video/", HTTP_RANGE="bytes=-10").streaming_content) == whole[-10:]
    assert page.get(f"/renders/{item.id}/video/", HTTP_RANGE=f"bytes={len(whole)}-").status_code == 416

    page.post(f"/renders/{item.id}/delete/")
    assert page.get(f"/renders/{item.id}/captions.vtt").status_code == 403
    assert b"The video was deleted." in page.get(f"/renders/{item.id}/").content


def test_a_share_link_plays_for_anyone_until_consent_is_withdrawn(page, portrait_id, client):
    page.post(
        "/renders/new/",
        {
            "portrait": portrait_id,
            "purpose": "marketing",
            "source": "text",
            "text": "Hi there.",
            "language": "en",
            "label": "on",
        },
    )
    item = Render.objects.get()
    render_run(render_id=item.id)
    assert b'id="share-link"' not in page.get(f"/renders/{item.id}/").content, "no link until the creator makes one"
    assert page.post(f"/renders/{item.id}/share/").status_code == 302
    share_path = re.search(
        r'id="share-link"[^>]*value="https?://[^/]+(/watch/[^"]+/)"', page.get(f"/renders/{item.id}/").content.decode()
    ).group(1)
    visitor = Client()
    shared = visitor.get(share_path)
    assert shared.status_code == 200 and b"An AI-generated video made with Candor" in shared.content
    assert b"Eileen" not in shared.content
    assert visitor.get(f"{share_path}video.mp4").status_code == 200
    assert visitor.get(f"{share_path}captions.vtt").status_code == 200
    assert visitor.get(share_path.replace("/watch/", "/watch/x")).status_code == 404

    item.consent.status = "revoked"
    item.consent.save(update_fields=["status"])
    withdrawn = visitor.get(share_path)
    assert withdrawn.status_code == 403 and b"consent is revoked" in withdrawn.content
    assert visitor.get(f"{share_path}video.mp4").status_code == 403


def test_a_pasted_transcript_captions_an_uploaded_recording(page, portrait_id):
    seconds = np.arange(32_000) / 16_000
    speechlike = np.where(
        seconds >= 0.5, 0.3 * np.sin(2 * np.pi * 180 * seconds) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * seconds)), 0.0
    )
    recording = io.BytesIO()
    soundfile.write(recording, speechlike.astype(np.float32), 16_000, format="WAV")
    page.post(
        "/renders/new/",
        {
            "portrait": portrait_id,
            "purpose": "marketing",
            "source": "audio",
            "label": "on",
            "audio": _file(recording.getvalue(), "hello.wav"),
            "transcript": "Hello and welcome.",
        },
    )
    item = Render.objects.get()
    assert item.audio and not item.text
    render_run(render_id=item.id)
    text = b"".join(page.get(f"/renders/{item.id}/captions.vtt").streaming_content).decode()
    # The cue covers the voiced second and a half, not the half second of silence before it.
    assert "00:00:00.5" in text and "--> 00:00:02.000\nHello and welcome." in text


def test_captions_group_words_into_cues_and_escape_markup():
    text = captions_webvtt([(0.0, 0.4, "Tom"), (0.4, 0.9, "&"), (0.9, 1.3, "Jerry."), (1.5, 2.0, "<Bye>")])
    assert (
        text == "WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.300\nTom &amp; Jerry.\n\n2\n00:00:01.500 --> "
        "00:00:02.000\n&lt;Bye&gt;\n"
    )


def test_another_creators_pages_and_files_are_not_found(page, other_creator, api, portrait_id):
    page.post(
        "/renders/new/",
        {
            "portrait": portrait_id,
            "purpose": "marketing",
            "source": "text",
            "text": "Hi.",
            "language": "en",
            "label": "on",
        },
    )
    render_id = Render.objects.get().id
    intruder = Client()
    intruder.force_login(other_creator)
    for url in (
        f"/portraits/{portrait_id}/",
        f"/portraits/{portrait_id}/image/",
        f"/renders/{render_id}/",
        f"/renders/{render_id}/status/",
        f"/renders/{render_id}/video/",
        f"/renders/{render_id}/captions.vtt",
        f"/renders/compare/?id={render_id}",
    ):
        response = intruder.get(url)
        assert response.status_code == 404 or b"Hi." not in response.content, url
    assert intruder.post(f"/renders/{render_id}/delete/").status_code == 404
    assert intruder.post(f"/portraits/{portrait_id}/consent-request/").status_code == 404
    assert b"Eileen Collins" not in intruder.get("/").content
    assert b"Eileen Collins" not in intruder.get("/renders/new/").content


def test_creator_pages_need_a_login(client):
    # "/" is the landing page for visitors (tests/web/test_public_pages.py).
    for url in ("/portraits/new/", "/renders/new/", "/renders/localize/", "/account/token/"):
        assert client.get(url).url.startswith("/login/?next="), url


def test_forms_refuse_a_post_without_the_csrf_token(creator):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(creator)
    assert strict.post("/account/token/").status_code == 403


def test_the_public_pages_say_in_plain_words_what_they_found(client, plain_mp4):
    assert b"How Candor handles consent and labelling" in client.get("/how-candor-works/").content
    response = client.post("/verify/", {"video": _file(plain_mp4.read_bytes(), "holiday.mp4")})
    assert b"Not recognized: we found no valid Candor signature or watermark." in response.content
    empty = client.post("/verify/", {"video": _file(b"", "empty.mp4")})
    assert empty.status_code == 400 and b'role="alert"' in empty.content
