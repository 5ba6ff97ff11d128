"""The creator's forms offer only what the consent allows, languages and voices by name, a voice sample per voice,
the face's expression, and the script's length; refusals keep the input."""

from __future__ import annotations

import io
import re

import pytest
import soundfile
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from studio.models import Render
from studio.voices import voice_sample_name
from tests.helpers import upload_portrait
from tests.web.approval import consent_approved

pytestmark = pytest.mark.django_db


@pytest.fixture
def portrait_id(api, portrait_jpeg):
    return upload_portrait(api, portrait_jpeg).json()["id"]


def _scoped(portrait_id, *, purposes, languages):
    consent = consent_approved(portrait_id=portrait_id, languages=languages)
    consent.purposes = purposes
    consent.save()
    return consent


def _offered(page: str, name: str) -> dict[str, bool]:
    """{option value: offered} of a select: an option rendered hidden and disabled is not offered."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select, f"no select {name}"
    return {
        value: "hidden" not in attrs and "disabled" not in attrs
        for value, attrs in re.findall(r'<option value="([^"]*)"([^>]*)>', select.group(1))
    }


def test_the_new_video_form_offers_only_the_purposes_and_languages_the_consent_covers(client, creator, portrait_id):
    _scoped(portrait_id, purposes=["education"], languages=("de", "fr"))
    client.force_login(creator)
    page = client.get(f"/renders/new/?portrait={portrait_id}").content.decode()
    purposes = _offered(page, "purpose")
    assert [value for value, offered in purposes.items() if offered] == ["education"]
    languages = _offered(page, "language")
    assert {value for value, offered in languages.items() if offered} == {"de", "fr"}
    assert len(languages) > 100  # the others are in the page, hidden, for a portrait with a wider consent
    # By name, sorted by name: French before German.
    assert page.index(">French (fr)</option>") < page.index(">German (de)</option>")
    # The first covered language is chosen, and the voices are its voices.
    assert re.search(r'<option value="fr"[^>]*selected', page)
    assert "Default voice: French (France), male" in page


def test_the_localize_rows_offer_only_the_languages_the_consent_covers(client, creator, portrait_id):
    _scoped(portrait_id, purposes=["support"], languages=("es",))
    client.force_login(creator)
    page = client.get(f"/renders/localize/?portrait={portrait_id}").content.decode()
    assert [value for value, offered in _offered(page, "purpose").items() if offered] == ["support"]
    row = _offered(page, "rows-0-language")
    assert {value for value, offered in row.items() if offered} == {"", "es"}


def test_a_language_outside_the_consent_is_refused_and_the_form_keeps_the_input(client, creator, portrait_id):
    _scoped(portrait_id, purposes=["education"], languages=("de",))
    client.force_login(creator)
    refused = client.post(
        "/renders/new/",
        {
            "portrait": portrait_id,
            "purpose": "education",
            "source": "text",
            "text": "Bonjour à tous, bienvenue.",
            "language": "fr",
            "expression": "friendly",
        },
    )
    page = refused.content.decode()
    assert refused.status_code == 400
    assert "does not cover the language &#x27;fr&#x27;" in page
    assert "Bonjour à tous, bienvenue.</textarea>" in page
    assert re.search(r'<option value="friendly" selected>', page)
    assert not Render.objects.exists()


def test_the_script_box_counts_characters_and_estimates_the_spoken_length(client, creator, portrait_id):
    consent_approved(portrait_id=portrait_id)
    client.force_login(creator)
    empty = client.get("/renders/new/").content.decode()
    assert "0 of 5000 characters, about 0 s spoken." in empty
    # 11 words at 165 words a minute: 4 s (rounded up); the count is kept on a refused form.
    text = "one two three four five six seven eight nine ten eleven"
    refused = client.post("/renders/new/", {"portrait": portrait_id, "source": "text", "text": text, "language": "en"})
    assert refused.status_code == 400  # no purpose
    assert f"{len(text)} of 5000 characters, about 4 s spoken." in refused.content.decode()


def test_the_expression_chosen_on_the_form_is_stored_and_named_on_the_video_page(client, creator, portrait_id):
    consent_approved(portrait_id=portrait_id)
    client.force_login(creator)
    made = client.post(
        "/renders/new/",
        {
            "portrait": portrait_id,
            "purpose": "marketing",
            "source": "text",
            "text": "Hello there.",
            "language": "en",
            "voice": "en-us+f3",
            "expression": "serious",
            "label": "on",
        },
    )
    render = Render.objects.get()
    assert made.status_code == 302 and render.expression == "serious"
    page = client.get(f"/renders/{render.id}/").content.decode()
    assert "<dt>Voice</dt><dd>English (America), female 3</dd>" in page
    assert "<dt>Expression</dt><dd>serious</dd>" in page


def test_the_api_takes_an_expression_and_names_the_voice(api, portrait_id):
    consent_approved(portrait_id=portrait_id)
    made = api.post(
        "/api/renders/",
        {"portrait": portrait_id, "purpose": "marketing", "text": "Hi.", "language": "en", "voice": "en-gb-x-gbcwmd"},
    )
    assert made.status_code == 202, made.content
    assert made.json()["expression"] == "neutral"
    assert made.json()["voice_name"] == "English (West Midlands), male"
    refused = api.post(
        "/api/renders/",
        {"portrait": portrait_id, "purpose": "marketing", "text": "Hi.", "language": "en", "expression": "angry"},
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid"
    assert Render.objects.count() == 1


def test_a_voice_sample_is_synthesized_once_and_then_served_from_storage(client, creator, monkeypatch):
    from inference import speech

    synthesized = []
    real_synthesize = speech.synthesize

    def counted(*args, **kwargs):
        synthesized.append(args)
        return real_synthesize(*args, **kwargs)

    monkeypatch.setattr(speech, "synthesize", counted)
    client.force_login(creator)
    name = voice_sample_name(language="de", voice="de+f2")
    default_storage.delete(name)
    first = client.get("/voices/de/de+f2/sample.wav")
    assert first.status_code == 200 and first["Content-Type"] == "audio/wav"
    audio, rate = soundfile.read(io.BytesIO(b"".join(first.streaming_content)))
    assert 0.8 < len(audio) / rate < 6  # "Deutsch. 1, 2, 3."
    # Kept: what storage holds is served as it is, not made again.
    default_storage.delete(name)
    silence = io.BytesIO()
    soundfile.write(silence, [0.0] * 800, 8000, format="WAV")
    default_storage.save(name, ContentFile(silence.getvalue()))
    again = client.get("/voices/de/de+f2/sample.wav")
    assert b"".join(again.streaming_content) == silence.getvalue()
    assert synthesized == [("Deutsch. 1, 2, 3.", "de")]
    default_storage.delete(name)


@pytest.mark.parametrize(
    "path", ["/voices/de/en-us/sample.wav", "/voices/de/de+x9/sample.wav", "/voices/xx/xx/sample.wav"]
)
def test_a_sample_of_an_unknown_voice_is_not_found(client, creator, path):
    client.force_login(creator)
    assert client.get(path).status_code == 404


def test_the_voices_api_names_each_voice(api):
    [english] = api.get("/api/voices/", {"language": "en"}).json()
    named = {row["id"]: row for row in english["named"]}
    assert named["en-gb-x-gbcwmd"] == {
        "id": "en-gb-x-gbcwmd",
        "language": "en",
        "name": "English (West Midlands), male",
        "accent": "West Midlands",
        "gender": "male",
        "natural": False,
        "sample_url": "/voices/en/en-gb-x-gbcwmd/sample.wav",
    }
    assert named["en-us+f3"]["name"] == "English (America), female 3" and named["en-us+f3"]["gender"] == "female"
    assert named["en-us-joe"]["natural"] is True
    assert [row["id"] for row in english["named"]] == english["voices"]


def test_the_expression_reaches_the_engine(portrait_id):
    """The same first second with another expression is another video; with the same one, the same video."""
    from studio.models import Portrait
    from studio.services import render_preview

    consent_approved(portrait_id=portrait_id)
    portrait = Portrait.objects.get(id=portrait_id)
    said = {"portrait": portrait, "purpose": "marketing", "text": "Hello there.", "language": "en", "voice": "en-us"}
    neutral = render_preview(**said, expression="neutral")
    assert render_preview(**said, expression="") == neutral
    assert render_preview(**said, expression="serious") != neutral
