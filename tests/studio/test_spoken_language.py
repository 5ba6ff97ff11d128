"""Under a consent limited to languages, the words of a render are shown to be in the declared language: typed text
and a recording's transcript are detected offline, and the transcript must fit the recording's speech in length.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile
from django.core.files.uploadedfile import SimpleUploadedFile

from consent.models import Consent, ConsentEvent
from core.errors import ApplicationError, ErrorCode
from inference import speech, transcripts
from studio.models import Render
from studio.services import render_enqueue

pytestmark = pytest.mark.django_db

ENGLISH = (
    "Maybe the big brown bear will come back. We walked along the river until the sun went down, and then we went "
    "home for dinner."
)
GERMAN = "Vielleicht kommt der große braune Bär morgen zurück."
GERMAN_SHORT = "Guten Tag, willkommen in unserem Laden."


def _recording(text: str, language: str, *, times: int = 1) -> SimpleUploadedFile:
    """A WAV of the synthesizer saying `text` `times` times, with a short pause after each."""
    spoken = speech.synthesize(text, language)
    pause = np.zeros(int(0.4 * spoken.sample_rate), np.float32)
    audio = np.concatenate([part for _ in range(times) for part in (spoken.audio, pause)])
    handle = io.BytesIO()
    soundfile.write(handle, audio, spoken.sample_rate, format="WAV")
    return SimpleUploadedFile("speech.wav", handle.getvalue(), content_type="audio/wav")


@pytest.fixture
def german_only(consented_portrait):
    Consent.objects.filter(portrait=consented_portrait).update(languages=["de"])
    return consented_portrait


def _enqueue(creator, portrait, **fields) -> Render:
    return render_enqueue(owner=creator, portrait=portrait, purpose="marketing", dispatch=False, **fields)


def _refusal(creator, portrait, **fields) -> str:
    with pytest.raises(ApplicationError) as refused:
        _enqueue(creator, portrait, **fields)
    assert refused.value.code == ErrorCode.LANGUAGE_UNVERIFIED and refused.value.status_code == 400
    assert not Render.objects.exists()
    logged = ConsentEvent.objects.filter(kind="render_refused").last()
    assert logged is not None and logged.details["reason"] == refused.value.detail
    return refused.value.detail


def test_english_speech_and_transcript_declared_german_are_refused(creator, german_only):
    reason = _refusal(creator, german_only, audio=_recording(ENGLISH, "en"), language="de", transcript=ENGLISH)
    assert reason == "the transcript reads as 'en', not 'de'"


def test_a_german_transcript_over_a_much_longer_english_recording_is_refused(creator, german_only):
    reason = _refusal(creator, german_only, audio=_recording(ENGLISH, "en"), language="de", transcript=GERMAN_SHORT)
    assert "the transcript does not fit the recording" in reason


def test_a_german_recording_with_its_transcript_is_accepted(creator, german_only):
    render = _enqueue(creator, german_only, audio=_recording(GERMAN, "de"), language="de", transcript=GERMAN)
    assert render.language == "de" and render.transcript == GERMAN


def test_a_recording_without_a_transcript_is_refused_under_a_consent_limited_to_languages(creator, german_only):
    reason = _refusal(creator, german_only, audio=_recording(GERMAN, "de"), language="de")
    assert "send the recording's transcript" in reason


def test_under_a_consent_for_any_language_a_recording_needs_no_transcript(creator, consented_portrait):
    # Not even a matching language: nothing is checked when the person pictured allowed every language.
    render = _enqueue(creator, consented_portrait, audio=_recording(ENGLISH, "en"), language="de")
    assert render.language == "de"


@pytest.mark.parametrize(
    ("times", "transcript_times", "accepted"),
    [
        (2, 1, True),  # the recording says the transcript twice: about 2.0 times its speech, inside 2.5
        (3, 1, False),  # three times: about 3.0, outside
        (1, 2, True),  # the transcript is said twice, the recording once: about 0.51, inside 0.5
        (1, 3, False),  # three times: about 0.34, outside
    ],
)
def test_the_transcript_must_fit_the_recording_within_the_bounds(
    creator, german_only, times, transcript_times, accepted
):
    recording = _recording(GERMAN, "de", times=times)
    transcript = " ".join([GERMAN] * transcript_times)
    if accepted:
        assert _enqueue(creator, german_only, audio=recording, language="de", transcript=transcript)
    else:
        assert "does not fit the recording" in _refusal(
            creator, german_only, audio=recording, language="de", transcript=transcript
        )


def test_typed_text_must_be_in_its_declared_language(creator, german_only):
    assert _refusal(creator, german_only, text=ENGLISH, language="de") == "the text reads as 'en', not 'de'"
    assert _enqueue(creator, german_only, text=GERMAN, language="de").language == "de"


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("Bitte", True),  # German, at about 0.54
        ("Ich bin", False),  # German too, but at about 0.50: not sure enough
    ],
)
def test_a_text_too_short_to_tell_its_language_with_confidence_is_refused(creator, german_only, text, accepted):
    guess = transcripts.text_language(text, expected="de")
    assert guess.language == "de" and (guess.confidence >= transcripts.MIN_CONFIDENCE) == accepted
    if accepted:
        assert _enqueue(creator, german_only, text=text, language="de")
    else:
        assert "could not be told with confidence" in _refusal(creator, german_only, text=text, language="de")


def test_a_language_the_detector_does_not_know_cannot_be_kept_and_is_refused(creator, consented_portrait):
    Consent.objects.filter(portrait=consented_portrait).update(languages=["am"])
    assert not transcripts.detectable("am")
    assert "cannot check offline" in _refusal(creator, consented_portrait, text="ሰላም ለዓለም", language="am")


def test_the_api_answers_language_unverified_with_the_reason(api, german_only):
    response = api.post(
        "/api/renders/",
        {
            "portrait": str(german_only.id),
            "purpose": "marketing",
            "language": "de",
            "audio": _recording(ENGLISH, "en"),
            "transcript": ENGLISH,
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json() == {"error": "language_unverified", "detail": "the transcript reads as 'en', not 'de'"}


def test_a_sentence_the_quick_first_pass_misreads_is_decided_by_the_accurate_second(creator, consented_portrait):
    # Lingua's low-accuracy mode alone reads this Asterisk prompt as Tswana, at 0.9998.
    Consent.objects.filter(portrait=consented_portrait).update(languages=["fr"])
    text = "Veuillez composer votre numéro de canal suivi du dièse."
    assert _enqueue(creator, consented_portrait, text=text, language="fr").language == "fr"
