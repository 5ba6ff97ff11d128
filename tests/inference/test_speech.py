"""Offline speech synthesis: audio, IPA phoneme timings and word timings from espeak-ng."""

import threading
import time

import numpy as np
import pytest

from inference import speech
from inference.errors import InferenceError

# (language, text, words a listener would count)
SENTENCES = [
    ("en", "The weather is lovely today, so we will walk to the park.", 12),
    ("de", "Das Wetter ist heute schön, also gehen wir in den Park.", 11),
    ("fr", "Il fait beau aujourd'hui, alors nous allons au parc.", 9),
    ("hi", "आज मौसम बहुत अच्छा है, इसलिए हम पार्क जाएंगे।", 9),
    ("zh", "今天天气很好，所以我们去公园散步。", 8),
]
VOWELS = set("aeiouɑɐəɛɪʊʌæɔøœyɚ")


def rms(speech_result, start_s, end_s):
    rate = speech_result.sample_rate
    segment = speech_result.audio[int(start_s * rate) : int(end_s * rate)]
    return float(np.sqrt(np.mean(segment**2)))


@pytest.mark.parametrize(("language", "text", "n_words"), SENTENCES, ids=[s[0] for s in SENTENCES])
def test_each_language_speaks_audibly_for_a_plausible_time_per_word(language, text, n_words):
    result = speech.synthesize(text, language)
    duration = len(result.audio) / result.sample_rate
    assert result.audio.dtype == np.float32 and result.audio.ndim == 1
    assert np.abs(result.audio).max() <= 1.0
    assert np.abs(result.audio).max() > 0.3
    assert np.sqrt(np.mean(result.audio**2)) > 0.03
    assert 0.15 <= duration / n_words <= 1.2


@pytest.mark.parametrize(("language", "text", "n_words"), SENTENCES, ids=[s[0] for s in SENTENCES])
def test_phoneme_times_strictly_increase_and_end_with_the_audio(language, text, n_words):
    result = speech.synthesize(text, language)
    duration = len(result.audio) / result.sample_rate
    starts = [start for start, _, _ in result.phonemes]
    assert len(result.phonemes) >= 2 * n_words
    assert starts == sorted(set(starts))
    for (start, end, ipa), following in zip(result.phonemes, [*result.phonemes[1:], None], strict=False):
        assert 0.0 <= start < end <= duration
        assert ipa
        if following is not None:
            assert end <= following[0]
    # espeak ends an utterance with a short pause, never with seconds of silence.
    assert duration - result.phonemes[-1][1] < 0.3


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "Mama mia, Bob", {"m", "b", "ɑː"}),
        ("de", "Guten Morgen", {"ɡ", "uː", "ɔ"}),
        ("fr", "Bonjour", {"b", "ɔ̃", "ʒ"}),
        ("hi", "नमस्ते", {"n", "m", "s"}),
        ("zh", "你好世界", {"n", "ʂ", "tɕ"}),
    ],
)
def test_phonemes_are_named_in_ipa_without_stress_marks(language, text, expected):
    names = {ipa for _, _, ipa in speech.synthesize(text, language).phonemes}
    assert expected <= names
    assert not any(mark in ipa for ipa in names for mark in "ˈˌ")


def test_lip_closures_of_mama_mia_bob_are_quieter_than_the_vowels_they_open_into():
    result = speech.synthesize("Mama mia, Bob", "en")
    pairs = [
        (closure, vowel)
        for closure, vowel in zip(result.phonemes, result.phonemes[1:], strict=False)
        if closure[2] in {"m", "b"} and vowel[2][0] in VOWELS
    ]
    assert len(pairs) >= 4
    for (c_start, c_end, _), (v_start, v_end, _) in pairs:
        assert rms(result, c_start, c_end) < rms(result, v_start, v_end)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("ru", "Мама мыла раму, а папа купил большой батон."),
        ("it", "Il mio babbo porta il pane ogni mattina."),
        ("en", "Take a cup of tea to the dog, Pat."),
        ("en", "Take a cup of tea to the dog, Pat. " * 12),
    ],
    ids=["ru", "it", "en", "en-30-seconds"],
)
def test_a_stop_starts_where_its_closure_falls_silent_not_at_its_burst(language, text):
    # espeak reports a stop at its release burst; its silent closure belongs to the stop, not to the vowel before.
    result = speech.synthesize(text, language)
    stops = [
        (before, stop)
        for before, stop in zip(result.phonemes, result.phonemes[1:], strict=False)
        if stop[2][0] in "pbtdkgc" and before[1] == stop[0]
    ]
    assert len(stops) >= 4
    moved = 0
    for (b_start, b_end, _), (s_start, _s_end, _) in stops:
        assert b_end - b_start >= 0.02 - 1e-9
        # No sound before a stop ends in 20 ms of silence any more ...
        assert rms(result, b_end - 0.02, b_end) > 1e-4
        # ... and where the stop now starts, the closure is silent.
        if rms(result, s_start, s_start + 0.01) < 1e-4:
            moved += 1
    assert moved >= len(stops) // 2
    # As late in the audio as early: the last stop's closure too.
    last = stops[-1][1]
    assert rms(result, last[0], last[0] + 0.01) < 1e-4
    assert all(a[1] <= b[0] + 1e-9 for a, b in zip(result.phonemes, result.phonemes[1:], strict=False))


def test_word_timings_follow_the_words_of_the_text_in_order():
    result = speech.synthesize('"Hello," she said. In 1990 it cost $5.50!', "en")
    duration = len(result.audio) / result.sample_rate
    assert [word for _, _, word in result.words] == ['"Hello,"', "she", "said.", "In", "1990", "it", "cost", "$5.50!"]
    previous_end = 0.0
    for start, end, _ in result.words:
        assert previous_end <= start < end <= duration
        previous_end = end


def test_words_begin_and_end_where_their_phonemes_do_after_stops_are_re_timed():
    result = speech.synthesize("Take a cup of tea to the dog, Pat.", "en")
    starts = {start for start, _, _ in result.phonemes}
    ends = {end for _, end, _ in result.phonemes}
    assert all(start in starts and end in ends for start, end, _ in result.words)
    cup = next(word for word in result.words if word[2] == "cup")
    first = next(phoneme for phoneme in result.phonemes if phoneme[0] == cup[0])
    assert first[2] == "k" and rms(result, cup[0], cup[0] + 0.01) < 1e-4  # "cup" starts with its closure


def test_word_timings_span_their_own_phonemes():
    result = speech.synthesize("Mama mia, Bob is here.", "en")
    mama, mia, bob = result.words[:3]
    assert [ipa for start, _, ipa in result.phonemes if mama[0] <= start < mama[1]] == ["m", "ɑː", "m", "ɐ"]
    assert [ipa for start, _, ipa in result.phonemes if bob[0] <= start < bob[1]] == ["b", "ɑː", "b"]
    # The comma's pause lies between "mia," and "Bob" and belongs to neither.
    assert bob[0] - mia[1] > 0.1


@pytest.mark.parametrize(("language", "text", "n_words"), SENTENCES, ids=[s[0] for s in SENTENCES])
def test_word_texts_put_back_together_give_the_original_text(language, text, n_words):
    words = speech.synthesize(text, language).words
    assert "".join(word for _, _, word in words) == "".join(text.split())
    assert len(words) >= min(n_words, 8)


def test_unknown_language_is_refused_naming_the_code_and_some_supported_ones():
    with pytest.raises(InferenceError) as error:
        speech.synthesize("Hello", "xx")
    assert error.value.code == "unknown_language"
    assert "'xx'" in error.value.detail and "en" in error.value.detail


@pytest.mark.parametrize("text", ["", "   \n\t ", "...", " - "])
def test_text_with_nothing_to_say_is_refused(text):
    with pytest.raises(InferenceError) as error:
        speech.synthesize(text, "en")
    assert error.value.code == "empty_text"


def test_text_over_five_thousand_characters_is_refused():
    with pytest.raises(InferenceError) as error:
        speech.synthesize("word " * 1001, "en")
    assert error.value.code == "text_too_long"


def test_a_voice_not_offered_for_the_language_is_refused():
    with pytest.raises(InferenceError) as error:
        speech.synthesize("Hello", "en", voice="de")
    assert error.value.code == "unknown_voice"


def test_a_speaking_rate_outside_what_espeak_supports_is_refused():
    with pytest.raises(InferenceError) as error:
        speech.synthesize("Hello", "en", words_per_minute=20)
    assert error.value.code == "invalid_rate"


def test_the_same_request_gives_identical_speech_even_after_other_requests():
    first = speech.synthesize("Mama mia, Bob is here.", "en")
    speech.synthesize("Ganz andere Worte, ganz anders gesprochen.", "de")
    second = speech.synthesize("Mama mia, Bob is here.", "en")
    assert np.array_equal(first.audio, second.audio)
    assert first.phonemes == second.phonemes and first.words == second.words


def test_a_breathy_voice_gives_identical_speech_a_second_later():
    # espeak seeds the noise of breathy voices from the clock, in whole seconds.
    first = speech.synthesize("el dedo", "es", voice="es+f2")
    time.sleep(1.1)
    assert np.array_equal(speech.synthesize("el dedo", "es", voice="es+f2").audio, first.audio)


def test_concurrent_requests_each_get_their_own_complete_speech():
    expected = {lang: speech.synthesize(text, lang).audio for lang, text, _ in SENTENCES}
    results = {}

    def speak(lang, text):
        results[lang] = speech.synthesize(text, lang).audio

    threads = [threading.Thread(target=speak, args=(lang, text)) for lang, text, _ in SENTENCES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(np.array_equal(results[lang], expected[lang]) for lang in expected)


def test_a_faster_speaking_rate_gives_shorter_speech():
    slow = speech.synthesize("The weather is lovely today.", "en", words_per_minute=120)
    fast = speech.synthesize("The weather is lovely today.", "en", words_per_minute=240)
    assert len(fast.audio) < 0.7 * len(slow.audio)


def test_languages_cover_the_codes_the_studio_offers_with_voices_that_exist():
    supported = speech.languages()
    for code in ["en", "de", "fr", "es", "it", "pt", "hi", "zh", "ja", "ar", "ru", "nl", "pl", "tr"]:
        assert code in supported
    assert supported["en"] == "en-us"
    assert supported["zh"] == "cmn"


def test_voices_start_with_the_default_and_a_variant_sounds_different():
    offered = speech.voices("en")
    assert offered[0] == "en-us"
    assert "en-gb-x-rp" in offered and "en-us+f3" in offered
    default = speech.synthesize("Hello there", "en")
    variant = speech.synthesize("Hello there", "en", voice="en-us+f3")
    assert not np.array_equal(default.audio[: len(variant.audio)], variant.audio[: len(default.audio)])


def test_voices_of_an_unknown_language_are_refused():
    with pytest.raises(InferenceError) as error:
        speech.voices("klingon")
    assert error.value.code == "unknown_language"
