"""An English recording with its transcript moves the lips from its phones aligned offline; other recordings from the
sound.
"""

from __future__ import annotations

import io

import pytest
import soundfile
from django.core.files.uploadedfile import SimpleUploadedFile

from inference import recognition, speech
from studio.models import Render
from studio.services import render_enqueue, render_run

pytestmark = pytest.mark.django_db

SENTENCE = "Maybe the big brown bear will come back."


@pytest.fixture
def alignments(monkeypatch):
    """The phone timings each render got from the aligner (None where the transcript did not fit)."""
    seen = []
    align = recognition.aligned_phonemes

    def recorded(audio, sample_rate, transcript):
        seen.append(align(audio, sample_rate, transcript))
        return seen[-1]

    monkeypatch.setattr(recognition, "aligned_phonemes", recorded)
    return seen


def _recording(language: str = "en") -> SimpleUploadedFile:
    spoken = speech.synthesize(SENTENCE, language)
    handle = io.BytesIO()
    soundfile.write(handle, spoken.audio, spoken.sample_rate, format="WAV")
    return SimpleUploadedFile("speech.wav", handle.getvalue(), content_type="audio/wav")


def _render(creator, portrait, **fields) -> Render:
    render = render_enqueue(owner=creator, portrait=portrait, purpose="marketing", dispatch=False, **fields)
    done = render_run(render_id=render.id)
    assert done.status == Render.Status.DONE, done.error
    return done


def test_an_english_recording_with_its_transcript_is_aligned_to_its_words(creator, consented_portrait, alignments):
    _render(creator, consented_portrait, audio=_recording(), language="en", transcript=SENTENCE)
    (phones,) = alignments
    assert phones is not None and sum(ipa in ("m", "b", "p") for _, _, ipa in phones) >= 4


def test_recordings_without_a_transcript_or_in_another_language_are_read_from_the_sound(
    creator, consented_portrait, alignments
):
    _render(creator, consented_portrait, audio=_recording(), language="en")
    _render(
        creator,
        consented_portrait,
        audio=_recording("de"),
        language="de",
        transcript="Vielleicht kommt der Bär zurück.",
    )
    assert alignments == []


def test_a_transcript_that_does_not_fit_the_recording_falls_back_to_the_sound(creator, consented_portrait, alignments):
    _render(
        creator,
        consented_portrait,
        audio=_recording(),
        language="en",
        transcript="Completely different words about the weather today.",
    )
    assert alignments == [None]


def test_a_recording_in_an_unknown_language_is_refused(creator, consented_portrait):
    from core.errors import ApplicationError

    with pytest.raises(ApplicationError, match="unknown language 'klingon'"):
        render_enqueue(
            owner=creator,
            portrait=consented_portrait,
            purpose="marketing",
            audio=_recording(),
            language="klingon",
            dispatch=False,
        )
