"""Uploaded recordings with a pasted transcript: captions timed over the speech, shown, downloadable and inside the
MP4.
"""

from __future__ import annotations

import io

import av
import numpy as np
import pytest
import soundfile

from studio.captions import transcript_timed
from studio.models import Render
from studio.services import render_run
from tests.helpers import render_request, upload_portrait

from .approval import consent_approved

pytestmark = pytest.mark.django_db(transaction=True)

RATE = 16_000


def _recording(*, silence_s: float, speech_s: float, name: str = "speech.wav") -> io.BytesIO:
    """A WAV of silence, then a speech-like buzz (180 Hz, syllable-rate loudness), then silence again."""
    t = np.arange(int((silence_s + speech_s + silence_s) * RATE)) / RATE
    voiced = (t >= silence_s) & (t < silence_s + speech_s)
    buzz = 0.3 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    handle = io.BytesIO()
    soundfile.write(handle, np.where(voiced, buzz, 0.0).astype(np.float32), RATE, format="WAV")
    handle.seek(0)
    handle.name = name
    return handle


def test_transcript_words_are_spread_over_the_speech_by_their_length():
    audio = np.zeros(4 * RATE, np.float32)
    audio[RATE : 3 * RATE] = 0.3 * np.sin(2 * np.pi * 180 * np.arange(2 * RATE) / RATE)
    audio[RATE // 2] = 0.9  # a click in the silence is not speech
    words = transcript_timed("Hi everybody", audio, RATE)
    # Weights are letters plus one for the gap: "Hi" 3, "everybody" 10, over the two voiced seconds.
    assert [word for _, _, word in words] == ["Hi", "everybody"]
    assert words[0][0] == pytest.approx(1.0, abs=0.03) and words[-1][1] == pytest.approx(3.0, abs=0.03)
    assert words[0][1] == pytest.approx(1.0 + 2.0 * 3 / 13, abs=0.03)
    assert transcript_timed("   ", audio, RATE) == [] and transcript_timed("Hi", np.zeros(RATE, np.float32), RATE) == []


def test_a_localized_recording_with_a_transcript_gets_captions_in_the_player_the_file_and_the_mp4(
    page, api, portrait_jpeg
):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    consent_approved(portrait_id=portrait_id, languages=["en", "fr"])
    response = page.post(
        "/renders/localize/",
        {
            "portrait": portrait_id,
            "purpose": "marketing",
            "label": "on",
            "rows-TOTAL_FORMS": "2",
            "rows-INITIAL_FORMS": "0",
            "rows-0-language": "en",
            "rows-0-text": "Welcome to our shop.",
            "rows-1-language": "fr",
            "rows-1-audio": _recording(silence_s=0.5, speech_s=2.0, name="bonjour.wav"),
            "rows-1-transcript": "Bienvenue dans notre boutique.",
        },
        follow=True,
    )
    renders = {r.language: r for r in Render.objects.all()}
    french = renders["fr"]
    assert french.audio and french.transcript == "Bienvenue dans notre boutique."
    for item in renders.values():
        render_run(render_id=item.id)
    french.refresh_from_db()
    assert french.status == "done", french.error

    captions = b"".join(page.get(f"/renders/{french.id}/captions.vtt").streaming_content).decode()
    # One cue, from the start of the speech to its end, not over the silence around it.
    assert captions == "WEBVTT\n\n1\n00:00:00.500 --> 00:00:02.500\nBienvenue dans notre boutique.\n"
    assert "attachment" in page.get(f"/renders/{french.id}/captions.vtt?download=1")["Content-Disposition"]
    compare = page.get(response.redirect_chain[-1][0]).content.decode()
    assert f'<track kind="captions" src="/renders/{french.id}/captions.vtt" srclang="fr"' in compare
    assert f'<track kind="captions" src="/renders/{renders["en"].id}/captions.vtt" srclang="en"' in compare
    detail = page.get(f"/renders/{french.id}/").content.decode()
    assert "captioned from its transcript (timing approximate)" in detail
    with av.open(french.video.path) as video:
        [subtitles] = [stream for stream in video.streams if stream.type == "subtitle"]
        samples = [bytes(packet)[2:].decode() for packet in video.demux(subtitles) if packet.size > 2]
    assert samples == ["Bienvenue dans notre boutique."]


def test_a_recording_without_a_transcript_has_no_captions(page, api, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    consent_approved(portrait_id=portrait_id)
    response = render_request(api, portrait_id, text="", language="", audio=_recording(silence_s=0.2, speech_s=1.0))
    render_run(render_id=response.json()["id"])
    item = Render.objects.get()
    assert item.status == "done" and not item.transcript
    assert page.get(f"/renders/{item.id}/captions.vtt").status_code == 404
    with av.open(item.video.path) as video:
        assert not [stream for stream in video.streams if stream.type == "subtitle"]


def test_a_transcript_goes_only_with_a_recording(page, api, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    consent_approved(portrait_id=portrait_id)
    with_audio = render_request(
        api, portrait_id, text="", language="", audio=_recording(silence_s=0.2, speech_s=1.0), transcript="Hello there."
    )
    assert with_audio.status_code == 202 and Render.objects.get().transcript == "Hello there."
    with_text = render_request(api, portrait_id, transcript="Hello there.")
    assert with_text.status_code == 400 and "a transcript goes with an uploaded recording" in with_text.json()["detail"]
    row = page.post(
        "/renders/localize/",
        {
            "portrait": portrait_id,
            "purpose": "marketing",
            "label": "on",
            "rows-TOTAL_FORMS": "1",
            "rows-INITIAL_FORMS": "0",
            "rows-0-language": "en",
            "rows-0-text": "Welcome.",
            "rows-0-transcript": "Welcome.",
        },
    )
    assert row.status_code == 400 and b"A transcript goes with an audio file" in row.content
    assert Render.objects.count() == 1
