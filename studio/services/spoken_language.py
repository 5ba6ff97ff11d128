"""The language a consent limited to languages is kept in: the words of a render are checked to be in its language.

A consent scope names the languages the person pictured may be heard speaking. The declared language is checked by
the consent gate; this checks that the words are in it. Typed text is read directly. An uploaded recording needs
its transcript: the transcript's language is detected offline, and the recording must hold about as much speech as
the transcript takes to say.

What this does not prove: that the recording says the transcript's words (a different text of about the same
length and in the allowed language passes), nor what language is spoken in it (nothing here recognizes speech in
every language). It stops mislabelled uploads and transcripts that do not fit the recording's length; docs/consent.md
has the measured bounds.
"""

from __future__ import annotations

from consent.audit_log import consent_event_append
from consent.models import Consent
from core.errors import ApplicationError, ErrorCode
from core.languages import ANY_LANGUAGE
from inference import media, transcripts


def _unverified_reason(*, language: str, words: str, recording: bytes | None) -> str | None:
    what = "the text" if recording is None else "the transcript"
    if recording is not None and not words.strip():
        return (
            "the consent is limited to certain languages: send the recording's transcript so that its language "
            "can be checked"
        )
    if not transcripts.detectable(language):
        return (
            f"Candor cannot check offline that words are in '{language}', so the consent's language limit cannot "
            "be kept"
        )
    guess = transcripts.text_language(words, expected=language)
    if guess.confidence < transcripts.MIN_CONFIDENCE:
        return f"the language of {what} could not be told with confidence; write at least one whole sentence"
    if not transcripts.same_writing(language, guess.language):
        return f"{what} reads as '{guess.language}', not '{language}'"
    if recording is not None:
        heard = transcripts.speech_seconds(media.audio_decode(recording), media.AUDIO_SAMPLE_RATE)
        said = transcripts.spoken_seconds(words, language)
        low, high = transcripts.SPEECH_RATIO_BOUNDS
        if not low * said <= heard <= high * said:
            return (
                f"the recording holds {heard:.1f} s of speech but its transcript takes about {said:.1f} s to say: "
                "the transcript does not fit the recording"
            )
    return None


def spoken_language_verify(
    *, consent: Consent, purpose: str, language: str, text: str, recording: bytes | None, transcript: str
) -> None:
    """Refuse (LANGUAGE_UNVERIFIED, logged like any refusal) words not shown to be in `language` when the consent is
    limited to languages.

    `recording` is the file of an uploaded recording (already checked to decode), whose `transcript` is checked;
    otherwise `text` is.
    """
    if ANY_LANGUAGE in consent.languages:
        return
    words = text if recording is None else transcript
    reason = _unverified_reason(language=language, words=words, recording=recording)
    if reason is None:
        return
    consent_event_append(
        consent=consent,
        kind="render_refused",
        details={"portrait": str(consent.portrait_id), "purpose": purpose, "language": language, "reason": reason},
    )
    raise ApplicationError(ErrorCode.LANGUAGE_UNVERIFIED, reason)
