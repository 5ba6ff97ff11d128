"""English speech aligned to its transcript gives phone timings as exact as the synthesizer's own, in IPA the visemes
know."""

from itertools import pairwise

import numpy as np
import pytest

from benchmarks import quality
from benchmarks.recognition import SENTENCES as BENCHMARK_SENTENCES
from inference import media, recognition, speech
from inference.animation import animate
from inference.articulation import CLOSE, viseme_track
from inference.rig import portrait_rig
from inference.visemes import UNKNOWN, segments

# The bilabial-rich sentences of the benchmark.
SENTENCES = BENCHMARK_SENTENCES[:6]
# The default voice and two of its variants stand in for different speakers.
VOICES = (None, "en-us+f2", "en-us+m3")
BILABIALS = frozenset("pbm")


def _uploaded(spoken: speech.Speech) -> np.ndarray:
    """The synthesized speech as an upload reaches the renderer: mono float at the decoder's 16 kHz."""
    return media.audio_resample(spoken.audio, spoken.sample_rate, media.AUDIO_SAMPLE_RATE)


def _bilabial_errors() -> np.ndarray:
    """(n, 3) seconds by which aligned bilabials' start, end and centre miss the synthesizer's, over SENTENCES x
    VOICES."""
    errors = []
    for voice in VOICES:
        for sentence in SENTENCES:
            spoken = speech.synthesize(sentence, "en", voice=voice)
            aligned = recognition.aligned_phonemes(_uploaded(spoken), media.AUDIO_SAMPLE_RATE, sentence)
            assert aligned is not None, (voice, sentence)
            ours = [(start, end) for start, end, ipa in aligned if ipa in BILABIALS]
            truth = [(start, end) for start, end, ipa in spoken.phonemes if ipa in BILABIALS]
            assert len(ours) == len(truth), (voice, sentence)
            errors += [(a - c, b - d, (a + b - c - d) / 2) for (a, b), (c, d) in zip(ours, truth, strict=False)]
    return np.abs(np.array(errors))


def test_aligned_bilabials_fall_within_40_ms_of_the_synthesizers_own_timings():
    errors = _bilabial_errors()
    assert len(errors) >= 150
    # Measured: boundaries 94%, centres 97% within 40 ms; centres 85% within 20 ms.
    assert np.mean(errors[:, :2] <= 0.04) >= 0.9
    assert np.mean(errors[:, 2] <= 0.04) >= 0.95
    assert np.mean(errors[:, 2] <= 0.02) >= 0.75


def test_aligned_phonemes_are_ipa_that_drive_the_visemes_and_shut_the_lips_on_bilabials():
    spoken = speech.synthesize(SENTENCES[2], "en", voice="en-us+f2")
    aligned = recognition.aligned_phonemes(_uploaded(spoken), media.AUDIO_SAMPLE_RATE, SENTENCES[2])
    assert all(UNKNOWN not in segments(ipa) for _, _, ipa in aligned)
    assert all(earlier[1] <= later[0] + 1e-9 for earlier, later in pairwise(aligned))
    fps = 25
    track = viseme_track(aligned, int(len(spoken.audio) / spoken.sample_rate * fps) + 1, fps)
    for start, end, ipa in aligned:
        if ipa in BILABIALS:
            assert track[int((start + end) / 2 * fps), CLOSE] == 1.0


def test_words_missing_from_the_dictionary_take_the_synthesizers_pronunciation():
    sentence = "Mister Zhang paid 42 dollars for the xylophone in Bombay."
    spoken = speech.synthesize(sentence, "en")
    aligned = recognition.aligned_phonemes(_uploaded(spoken), media.AUDIO_SAMPLE_RATE, sentence)
    assert aligned is not None
    assert [ipa for _, _, ipa in aligned if ipa in BILABIALS] == [
        ipa for _, _, ipa in spoken.phonemes if ipa in BILABIALS
    ]


def test_speech_that_does_not_fit_the_transcript_is_left_to_the_acoustic_analysis():
    spoken = speech.synthesize(SENTENCES[0], "en")
    audio = _uploaded(spoken)
    rate = media.AUDIO_SAMPLE_RATE
    assert recognition.aligned_phonemes(audio, rate, SENTENCES[1]) is None  # another sentence
    assert recognition.aligned_phonemes(audio, rate, " ".join(SENTENCES[0].split()[:7])) is None  # half of it
    assert recognition.aligned_phonemes(audio, rate, "...") is None  # no words
    assert recognition.aligned_phonemes(np.zeros(rate, np.float32), rate, "hello") is None  # silence
    german = speech.synthesize("Bitte bring mir morgen einen Apfel und eine Banane mit.", "de")
    assert (
        recognition.aligned_phonemes(_uploaded(german), rate, "Bitte bring mir morgen einen Apfel und eine Banane mit.")
        is None
    )


def test_transcripts_are_read_as_the_dictionary_spells_words():
    assert recognition.transcript_words("“Don’t,” she said — it's 9:30 in Zürich!") == [
        "don't",
        "she",
        "said",
        "it's",
        "9",
        "30",
        "in",
        "zürich",
    ]


@pytest.fixture(scope="module")
def rig(grace_hopper):
    return portrait_rig(grace_hopper)


def test_an_uploaded_english_recording_with_its_transcript_closes_the_lips_on_every_bilabial(rig):
    """The judge's closure measure on frames from the public API, the recording's phones aligned to its transcript.

    Over four such sentences the audio alone closed the lips on 52% of the bilabials on this portrait
    (aligned to the transcript: 100%, the text path: 100%).
    """
    sentence = "Bob must keep his promise to bring back the blue umbrella."
    spoken = speech.synthesize(sentence, "en", voice="en-us+m3")
    audio = _uploaded(spoken)
    aligned = recognition.aligned_phonemes(audio, media.AUDIO_SAMPLE_RATE, sentence)
    frames = animate(None, audio, media.AUDIO_SAMPLE_RATE, phonemes=aligned, seed=1, rig=rig)
    judged = quality.judge_clip(
        "en/aligned", quality.reference(rig.image), frames, audio, media.AUDIO_SAMPLE_RATE, spoken.phonemes
    )
    assert judged.n_bilabials >= 8
    assert judged.closure >= quality.TARGET_CLOSURE
    assert abs(judged.offset) <= quality.TARGET_OFFSET_FRAMES
