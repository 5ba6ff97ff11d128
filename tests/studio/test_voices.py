"""Voices: the synthesizer's voices per language are listed, a chosen one is spoken in the video, an unknown one is
refused.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import soundfile

from inference import media, speech
from studio.models import Render
from studio.services import render_run
from tests.helpers import render_request, upload_portrait
from tests.web.approval import consent_approved

pytestmark = pytest.mark.django_db(transaction=True)

TEXT = "Hello there, welcome to our shop."


@pytest.fixture
def portrait_id(api, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    consent_approved(portrait_id=portrait_id)
    return portrait_id


def _median_pitch_hz(audio: np.ndarray, sample_rate: int) -> float:
    """Median fundamental frequency of the loud 40 ms stretches (autocorrelation peak between 70 and 400 Hz)."""
    window, pitches = int(0.04 * sample_rate), []
    low, high = int(sample_rate / 400), int(sample_rate / 70)
    for start in range(0, audio.size - window, window):
        stretch = audio[start : start + window]
        if np.sqrt(np.mean(stretch**2)) < 0.05:
            continue
        correlation = np.correlate(stretch, stretch, "full")[window - 1 :]
        pitches.append(sample_rate / (low + np.argmax(correlation[low:high])))
    return float(np.median(pitches))


def _envelope(audio: np.ndarray) -> np.ndarray:
    """Loudness every 20 ms."""
    hop = media.AUDIO_SAMPLE_RATE // 50
    usable = audio[: len(audio) // hop * hop].reshape(-1, hop)
    return np.sqrt((usable**2).mean(axis=1))


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


def test_the_voices_api_lists_a_languages_voices_default_first(api):
    german = api.get("/api/voices/", {"language": "de"})
    assert german.status_code == 200
    [row] = german.json()
    assert row["language"] == "de" and row["default"] == row["voices"][0] == "de"
    assert {"de+f2", "de+m3"} <= set(row["voices"])
    every = {row["language"]: row for row in api.get("/api/voices/").json()}
    assert every["en"]["default"] == "en-us-joe" and every["en"]["voices"][1] == "en-us"
    assert "en-gb-scotland" in every["en"]["voices"] and "zh" in every
    assert "en-us-joe" not in every["de"]["voices"]
    refused = api.get("/api/voices/", {"language": "klingon"})
    assert refused.status_code == 400 and refused.json()["error"] == "unknown_language"


def test_a_chosen_voice_is_spoken_in_the_video(api, portrait_id):
    default = render_request(api, portrait_id, text=TEXT)
    espeak = render_request(api, portrait_id, text=TEXT, voice="en-us")
    female = render_request(api, portrait_id, text=TEXT, voice="en-us+f3")
    assert default.status_code == espeak.status_code == female.status_code == 202
    assert female.json()["voice"] == "en-us+f3" and default.json()["voice"] == ""
    pitches, envelopes = {}, {}
    for response in (default, espeak, female):
        render_run(render_id=response.json()["id"])
        item = Render.objects.get(id=response.json()["id"])
        assert item.status == "done", item.error
        audio = media.audio_decode(item.video.path)
        pitches[item.voice] = _median_pitch_hz(audio, media.AUDIO_SAMPLE_RATE)
        envelopes[item.voice] = _envelope(audio)
    # espeak's default English voice speaks around 110 Hz; its third female variant about an octave higher.
    assert pitches["en-us+f3"] > 1.6 * pitches["en-us"], pitches
    # The default English voice is the natural one: the video's loudness follows its reading, not espeak's.
    natural, by_espeak = (
        _envelope(media.audio_resample(spoken.audio, spoken.sample_rate, media.AUDIO_SAMPLE_RATE))
        for spoken in (speech.synthesize(TEXT, "en", voice=voice) for voice in ("en-us-joe", "en-us"))
    )
    assert _similarity(envelopes[""], natural) > 0.9 > _similarity(envelopes[""], by_espeak)


def test_an_unknown_voice_is_refused_with_the_voices_on_offer(api, portrait_id):
    response = render_request(api, portrait_id, text="Hallo.", language="de", voice="en-us+f3")
    assert response.status_code == 400
    assert response.json()["error"] == "unknown_voice"
    assert "'en-us+f3' is not offered for 'de'" in response.json()["detail"] and "de+f3" in response.json()["detail"]
    assert not Render.objects.exists()


def test_a_voice_for_an_uploaded_recording_is_refused(api, portrait_id):
    recording = io.BytesIO()
    seconds = np.arange(16_000) / 16_000
    soundfile.write(recording, (0.3 * np.sin(2 * np.pi * 180 * seconds)).astype(np.float32), 16_000, format="WAV")
    recording.seek(0)
    recording.name = "hello.wav"
    response = render_request(api, portrait_id, text="", language="", audio=recording, voice="en-us+f3")
    assert response.status_code == 400 and "uploaded recording keeps its own voice" in response.json()["detail"]
    assert not Render.objects.exists()


def test_the_new_video_form_offers_the_voices_of_the_language(client, creator, portrait_id):
    client.force_login(creator)
    page = client.get("/renders/new/").content.decode()
    assert ">Default voice: English (America), natural voice Joe, male</option>" in page
    assert re.search(r'<option value="en-us" data-gender="male"[^>]*>English \(America\), male</option>', page)
    assert re.search(
        r'<option value="en-us\+f3" data-gender="female" data-sample="/voices/en/en-us\+f3/sample.wav"\s*>'
        r"English \(America\), female 3</option>",
        page,
    )
    assert ">English (West Midlands), male</option>" in page
    german = client.get("/voices/de/").json()
    assert german["voices"][0] == {
        "value": "",
        "label": "Default voice: German, male",
        "gender": "male",
        "sample_url": "/voices/de/de/sample.wav",
    }
    assert {
        "value": "de+m2",
        "label": "German, male 2",
        "gender": "male",
        "sample_url": "/voices/de/de+m2/sample.wav",
    } in german["voices"]
    assert client.get("/voices/klingon/").status_code == 404
    form = {
        "portrait": portrait_id,
        "purpose": "marketing",
        "source": "text",
        "text": "Hallo zusammen.",
        "language": "de",
        "label": "on",
    }
    client.post("/renders/new/", {**form, "voice": "de+f2"})
    assert Render.objects.get().voice == "de+f2"
    # A voice of another language (a stale list without JavaScript) is refused on the form, not stored.
    stale = client.post("/renders/new/", {**form, "voice": "en-us+f3"})
    assert stale.status_code == 400 and b"Select a valid choice" in stale.content
    assert Render.objects.count() == 1


def test_localization_through_the_api_queues_each_language_with_its_own_voice(api, portrait_id):
    response = api.post(
        "/api/renders/localize/",
        {
            "portrait": portrait_id,
            "purpose": "marketing",
            "versions": [
                {"language": "en", "text": "Welcome to our shop.", "voice": "en-us+f3"},
                {"language": "de", "text": "Willkommen in unserem Laden."},
            ],
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    made = {item["language"]: item for item in response.json()}
    assert made["en"]["voice"] == "en-us+f3" and made["de"]["voice"] == ""
    assert {(r.language, r.voice) for r in Render.objects.all()} == {("en", "en-us+f3"), ("de", "")}


@pytest.mark.parametrize(
    "versions, expected",
    [
        ([{"language": "en", "text": "Hi.", "voice": "de+m1"}], b"unknown_voice"),
        ([{"language": "en", "text": "Hi."}, {"language": "en", "text": "Hello."}], b"each language can appear once"),
        ([], b"versions"),
        ([{"language": "en"}], b"text"),
    ],
)
def test_a_bad_localization_request_is_refused_and_queues_nothing(api, portrait_id, versions, expected):
    response = api.post(
        "/api/renders/localize/", {"portrait": portrait_id, "purpose": "marketing", "versions": versions}, format="json"
    )
    assert response.status_code == 400 and expected in response.content, response.content
    assert not Render.objects.exists()


def test_each_localization_row_offers_and_keeps_its_own_voice(client, creator, portrait_id):
    client.force_login(creator)
    page = client.get("/renders/localize/").content.decode()
    assert page.count('data-voices-url="/voices/xx/"') == 4
    client.post(
        "/renders/localize/",
        {
            "portrait": portrait_id,
            "purpose": "marketing",
            "label": "on",
            "rows-TOTAL_FORMS": "2",
            "rows-INITIAL_FORMS": "0",
            "rows-0-language": "de",
            "rows-0-text": "Willkommen.",
            "rows-0-voice": "de+f2",
            "rows-1-language": "en",
            "rows-1-text": "Welcome.",
            "rows-1-voice": "",
        },
    )
    assert {(r.language, r.voice) for r in Render.objects.all()} == {("de", "de+f2"), ("en", "")}
    refused = client.post(
        "/renders/localize/",
        {
            "portrait": portrait_id,
            "purpose": "marketing",
            "label": "on",
            "rows-TOTAL_FORMS": "1",
            "rows-INITIAL_FORMS": "0",
            "rows-0-language": "de",
            "rows-0-text": "Hallo.",
            "rows-0-voice": "en-us+f3",
        },
    )
    assert refused.status_code == 400 and Render.objects.count() == 2
