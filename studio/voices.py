"""The speech synthesizer's voices as a creator meets them: a name (language, accent, gender) shown alike on the
forms and the video page, and a short sample of each, spoken once and kept in the media storage.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

from babel import Locale, UnknownLocaleError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from core.errors import ApplicationError, ErrorCode
from core.languages import language_check, language_name
from inference.errors import InferenceError

from .services.common import as_application_error

SAMPLES_FOLDER = "voice-samples"


@dataclass(frozen=True)
class Voice:
    """One voice of a language: `id` is what a render stores ("en-us+f3"), `name` what a person reads."""

    id: str
    language: str
    name: str
    accent: str
    gender: str
    natural: bool


@functools.cache
def spoken_language_name(code: str) -> str:
    """The name of a language the synthesizer speaks: CLDR's (core.languages.language_name), or where CLDR has none
    (espeak-ng's "piqd", "qya") the title of the synthesizer's voice for it ("Klingon", "Quenya")."""
    from inference import speech

    name = language_name(code)
    voice = speech.languages().get(code)
    if name != code or voice is None:
        return name
    return speech.voice_profile(voice).title


def _autonym(code: str) -> str:
    """The language's name in itself ("de" -> "Deutsch"), or its English name where CLDR has no such name."""
    try:
        autonym = Locale.parse(code, sep="-").get_display_name(code)
    except (ValueError, UnknownLocaleError):
        autonym = None
    return autonym or spoken_language_name(code)


def voice_name(voice: str) -> str:
    """ "en-us+f3" -> "English (America), female 3"; "en-gb-x-gbcwmd" -> "English (West Midlands), male"."""
    from inference import speech

    profile = speech.voice_profile(voice)
    variant = voice.partition("+")[2]
    gender = f"{profile.gender} {variant[1:]}" if variant and profile.gender else profile.gender
    return f"{profile.title}, {gender}" if gender else profile.title


def render_voice_name(render) -> str:
    """The name of the voice a render speaks in: its chosen voice, or its language's default; "" for a recording."""
    from inference import speech

    if not render.text:
        return ""
    try:
        return voice_name(render.voice or speech.voices(render.language)[0])
    except InferenceError:
        # A voice the installed synthesizer no longer has keeps its stored id.
        return render.voice or render.language


def voices_of_language(language: str) -> list[Voice]:
    """A language's voices, the default first, each named; UNKNOWN_LANGUAGE for a code the synthesizer lacks."""
    from inference import neural_speech, speech

    language_check(language)
    rows = []
    for voice in speech.voices(language):
        title = speech.voice_profile(voice).title
        # The accent is what the title says in brackets: "English (West Midlands)" -> "West Midlands".
        accent = title.partition("(")[2].rstrip(")") if "(" in title else ""
        rows.append(
            Voice(
                id=voice,
                language=language,
                name=voice_name(voice),
                accent=accent,
                gender=speech.voice_profile(voice).gender,
                natural=voice == neural_speech.VOICE_NAME,
            )
        )
    return rows


def voice_sample_text(language: str) -> str:
    """What a sample says: the language's name in itself and the first numbers, which every voice reads in its
    language ("Deutsch. 1, 2, 3.")."""
    return f"{_autonym(language)}. 1, 2, 3."


def voice_sample_name(*, language: str, voice: str) -> str:
    """The sample's file in the media storage, once it is made."""
    return f"{SAMPLES_FOLDER}/{language}/{voice}.wav"


def voice_sample_get(*, language: str, voice: str) -> str:
    """The storage name of a voice's sample WAV, synthesized on the first request and kept for every later one.

    UNKNOWN_VOICE for a voice the language does not offer (the page answers 404).
    """
    import soundfile

    from inference import speech

    offered = [row.id for row in voices_of_language(language)]
    if voice not in offered:
        raise ApplicationError(ErrorCode.UNKNOWN_VOICE, f"voice '{voice}' is not one of the {language} voices")
    name = voice_sample_name(language=language, voice=voice)
    if default_storage.exists(name):
        return name
    try:
        spoken = speech.synthesize(voice_sample_text(language), language, voice=voice)
    except InferenceError as error:
        raise as_application_error(error) from error
    buffer = io.BytesIO()
    soundfile.write(buffer, spoken.audio, spoken.sample_rate, format="WAV", subtype="PCM_16")
    # Two first requests at once both synthesize; the storage keeps one file and the other's name is discarded.
    saved = default_storage.save(name, ContentFile(buffer.getvalue()))
    if saved != name:
        default_storage.delete(saved)
    return name
