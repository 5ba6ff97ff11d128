"""Visemes come from IPA features, so every language espeak speaks gets mouth shapes without a per-language table."""

import unicodedata

import pytest

from inference import speech
from inference.visemes import CHANNELS, UNKNOWN, segments

JAW, SPREAD, ROUND, CLOSE, DENTAL = range(len(CHANNELS))

SENTENCES = {
    "en": "Maybe the big brown bear will come back by the time we open the map.",
    "de": "Bitte bring mir morgen einen Apfel und eine Banane mit.",
    "fr": "Mon petit frère aime beaucoup le pain et les pommes.",
    "hi": "मेरे पापा बाजार से पान और बादाम लाए।",
    "zh": "爸爸妈妈明天不忙，我们一边吃苹果一边聊天。",
    "ja": "今日はとても良い天気ですね。",
    "ar": "الطقس جميل اليوم، لذلك سنذهب إلى الحديقة.",
    "ru": "Мама мыла раму, а папа купил большой батон.",
}


@pytest.mark.parametrize("language", sorted(SENTENCES))
def test_every_phoneme_espeak_speaks_has_a_known_mouth_shape(language):
    spoken = speech.synthesize(SENTENCES[language], language)
    for _, _, ipa in spoken.phonemes:
        parts = segments(ipa)
        # espeak sometimes reports a modifier alone (Russian palatalization 'ʲ'): no gesture of its own.
        assert parts or all(unicodedata.category(char) == "Lm" for char in ipa), ipa
        assert UNKNOWN not in parts, ipa
        for viseme in parts:
            assert all(0.0 <= value <= 1.0 for value in viseme.target)
            assert all(value > 0 for value in viseme.dominance)


@pytest.mark.parametrize("language", ["en", "de", "fr", "hi", "zh", "ru"])
def test_bilabials_in_each_language_close_the_lips(language):
    spoken = speech.synthesize(SENTENCES[language], language)
    bilabials = [ipa for _, _, ipa in spoken.phonemes if ipa[0] in "pbm"]
    assert bilabials
    for ipa in bilabials:
        (viseme,) = segments(ipa)
        assert viseme.bilabial and viseme.target[CLOSE] == 1.0 and viseme.target[JAW] == 0.0


@pytest.mark.parametrize("ipa", ["p", "pʰ", "bʱ", "m", "mː", "b̥"])
def test_diacritics_do_not_hide_a_bilabial(ipa):
    (viseme,) = segments(ipa)
    assert viseme.bilabial


def test_vowels_open_by_height_round_by_rounding_and_spread_when_front():
    def shape(ipa):
        (viseme,) = segments(ipa)
        return viseme.target

    assert shape("a")[JAW] > shape("ɛ")[JAW] > shape("e")[JAW] > shape("i")[JAW] > 0.2
    assert shape("u")[ROUND] > 0.9 and shape("y")[ROUND] > 0.9 and shape("o")[ROUND] > 0.5
    assert shape("i")[ROUND] == 0 and shape("ɯ")[ROUND] == 0  # Japanese and Korean unrounded u
    assert shape("i")[SPREAD] > 0.8 > shape("a")[SPREAD]
    assert shape("y")[SPREAD] == 0  # French/German ü is rounded, not spread
    assert shape("ɔ̃")[JAW] == shape("ɔ")[JAW]  # nasalization does not change the lips


def test_consonants_shape_the_lips_by_place():
    assert segments("f")[0].target[DENTAL] == 1.0 and segments("v")[0].target[DENTAL] == 1.0
    assert segments("w")[0].target[ROUND] == 1.0
    assert segments("ʃ")[0].target[ROUND] > 0.5  # lips protrude for sh
    assert segments("kʷ")[0].target[ROUND] > 0.5  # labialized
    tongue = segments("t")[0]
    assert not tongue.bilabial and tongue.dominance[JAW] < segments("a")[0].dominance[JAW]


def test_diphthongs_move_and_affricates_hold_one_shape():
    first, second = segments("aɪ")
    assert first.target[JAW] > second.target[JAW] and second.target[SPREAD] > first.target[SPREAD]
    assert segments("tʃ") == segments("ʃ")
    assert segments("ts") == segments("s")
    glide, vowel = segments("ja")
    assert vowel.target[JAW] == 1.0 and glide.target[SPREAD] > 0
    assert segments("") == ()
