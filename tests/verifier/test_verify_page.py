"""The verify page in plain words: the video's first frame and name, who issued it and when, whether it is
AI-generated and whether its consent still stands, with the raw fields folded away; a friendly word for an empty
submit."""

from __future__ import annotations

import base64
import io
import re

import pytest

from consent.services import consent_revoke
from inference import media
from verifier.report import THUMBNAIL_MAX_WIDTH

pytestmark = pytest.mark.django_db


def _page(client, path, name="clip from a friend.mp4"):
    with open(path, "rb") as handle:
        upload = io.BytesIO(handle.read())
    upload.name = name
    return client.post("/verify/", {"video": upload})


def _fact(html: str, term: str) -> str:
    found = re.search(rf"<dt>{term}</dt><dd>(.*?)</dd>", html, re.S)
    assert found, f"no {term!r} in the facts"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_an_empty_submit_asks_for_a_file_in_plain_words_while_the_api_keeps_its_field_names(client, public_api):
    page = client.post("/verify/", {"video": "", "url": ""})
    html = page.content.decode()
    assert page.status_code == 400 and "Choose a video file to verify" in html and 'role="alert"' in html
    assert "multipart field" not in html and 'class="result"' not in html
    answered = public_api.post("/api/verify/", {}, format="multipart")
    assert answered.status_code == 400 and "multipart field 'video'" in answered.json()["detail"]


def test_a_refused_link_stays_in_its_field_and_a_refused_file_is_named(client):
    page = client.post("/verify/", {"url": "https://elsewhere.example/watch/abc/"})
    assert page.status_code == 400
    assert 'value="https://elsewhere.example/watch/abc/"' in page.content.decode()
    junk = io.BytesIO(b"junk")
    junk.name = "holiday.mp4"
    refused = client.post("/verify/", {"video": junk}).content.decode()
    assert '<span class="file-name">holiday.mp4</span>: the file is not a readable video' in refused


def test_a_candor_render_is_summed_up_in_plain_words_with_its_first_frame_and_name(client, render):
    response = _page(client, render.video.path)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<p class="verdict ok" role="status">Made with Candor on' in html
    assert "clip from a friend.mp4" in html
    assert _fact(html, "Issued by") and _fact(html, "Issued by") != "Unknown"
    assert _fact(html, "Issued on") == f"{render.created_at:%Y-%m-%d}"
    assert "Candor" in _fact(html, "Made with")
    assert _fact(html, "AI-generated") == "Yes, declared in its signed content credential"
    assert _fact(html, "Consent") == f"Active since {render.consent.decided_at:%Y-%m-%d}"
    assert 'class="consent-warning"' not in html

    # The raw fields are there, folded away below the plain words.
    details = html.index('<details class="raw-details">')
    assert html.index("trainedAlgorithmicMedia") > details and html.index(f"Render id: {render.id}") > details
    assert html.index("<dt>Issued by</dt>") < details

    # The thumbnail is the video's own first frame, made from the frames already decoded, and small.
    thumbnail = re.search(r'<img class="result-thumb" src="data:image/jpeg;base64,([^"]+)"', html)
    assert thumbnail, "no thumbnail"
    picture = media.image_decode(base64.b64decode(thumbnail.group(1)))
    first = next(media.video_frames(render.video.path))
    assert picture.shape[1] <= THUMBNAIL_MAX_WIDTH
    assert abs(picture.mean() - first.mean()) < 8


def test_a_revoked_consent_is_a_warning_with_its_date_never_a_success(client, public_api, render):
    revoked = consent_revoke(revoke_token=render.consent.revoke_token)
    html = _page(client, render.video.path).content.decode()
    assert 'class="verdict ok"' not in html
    assert '<p class="verdict warning" role="status">Made with Candor on' in html
    assert "consent of the person pictured is revoked" in html
    assert _fact(html, "Consent") == f"Revoked on {revoked.revoked_at:%Y-%m-%d}: it no longer covers this video"
    assert '<span class="consent-warning">Revoked on' in html

    with open(render.video.path, "rb") as handle:
        answered = public_api.post("/api/verify/", {"video": handle}, format="multipart").json()
    assert answered["render"]["consent_status"] == "revoked"
    assert answered["render"]["consent_ended_at"] == revoked.revoked_at.isoformat()
    assert "thumbnail_jpeg" not in answered


def test_a_video_candor_does_not_know_is_unknown_in_every_fact(client, sample_mp4):
    html = _page(client, sample_mp4).content.decode()
    assert 'class="verdict unknown"' in html
    assert _fact(html, "Issued by") == _fact(html, "Made with") == "Unknown"
    assert _fact(html, "AI-generated").startswith("Unknown")
    assert _fact(html, "Consent").startswith("Not applicable")
