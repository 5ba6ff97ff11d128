"""Mouth shapes (visemes) for any language's phonemes, from IPA articulatory features rather than a per-language table.
Mouth shapes (visemes) for any language's phonemes, from IPA articulatory features rather than a per-language table."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# The mouth's articulators, each 0..1: jaw opening, lip spread (smile-like
# widening), lip rounding (pucker), lip closure (bilabial contact) and
# lip-teeth contact (upper teeth on the lower lip).
CHANNELS = ("jaw", "spread", "round", "close", "dental")


@dataclass(frozen=True)
class Viseme:
    """Target mouth shape of one speech segment and how strongly it holds each articulator against its neighbours."""

    target: tuple[float, float, float, float, float]  # per CHANNELS, 0..1
    dominance: tuple[float, float, float, float, float]  # per CHANNELS, > 0; higher resists coarticulation
    bilabial: bool = False  # the lips must meet during this segment


# A letter outside the tables (a rare ASCII name): a neutral shape that yields to its neighbours.
UNKNOWN = Viseme((0.3, 0.0, 0.0, 0.0, 0.0), (0.05, 0.05, 0.05, 0.05, 0.05))

# IPA vowels by (height 0 close .. 1 open, backness 0 front .. 1 back, rounded).
_VOWELS = {
    "i": (0.0, 0.0, False),
    "y": (0.0, 0.0, True),
    "ɨ": (0.0, 0.5, False),
    "ʉ": (0.0, 0.5, True),
    "ɯ": (0.0, 1.0, False),
    "u": (0.0, 1.0, True),
    "ɪ": (0.15, 0.1, False),
    "ʏ": (0.15, 0.1, True),
    "ʊ": (0.15, 0.9, True),
    "e": (0.33, 0.0, False),
    "ø": (0.33, 0.0, True),
    "ɘ": (0.33, 0.5, False),
    "ɵ": (0.33, 0.5, True),
    "ɤ": (0.33, 1.0, False),
    "o": (0.33, 1.0, True),
    "ə": (0.5, 0.5, False),
    "ɚ": (0.5, 0.5, False),
    "ɛ": (0.67, 0.0, False),
    "œ": (0.67, 0.0, True),
    "ɜ": (0.67, 0.5, False),
    "ɝ": (0.67, 0.5, False),
    "ɞ": (0.67, 0.5, True),
    "ʌ": (0.67, 1.0, False),
    "ɔ": (0.67, 1.0, True),
    "æ": (0.85, 0.0, False),
    "ɐ": (0.8, 0.5, False),
    "a": (1.0, 0.2, False),
    "ɶ": (1.0, 0.0, True),
    "ä": (1.0, 0.5, False),
    "ɑ": (1.0, 1.0, False),
    "ɒ": (1.0, 1.0, True),
    # espeak's ASCII names for phonemes without an IPA spelling.
    "A": (1.0, 1.0, False),
}

# Consonant places of articulation, front to back, and the letters at each.
_PLACES = {
    "bilabial": "pbmɓʙɸβⱱ",
    "labiodental": "fvɱʋ",
    "labiovelar": "wʍɥ",
    "dental": "θð",
    "alveolar": "tdnszrɾɹlɬɮɺɫɗ",
    "postalveolar": "ʃʒ",
    "retroflex": "ʈɖɳʂʐɽɻɭ",
    "palatal": "cɟɲçʝjʎɕʑ",
    "velar": "kgɡŋxɣɰʟɠ",
    "uvular": "qɢɴχʁʀ",
    "pharyngeal": "ħʕ",
    "glottal": "hɦʔ?",
}
_PLACE_OF = {letter: place for place, letters in _PLACES.items() for letter in letters}
_FRICATIVES = frozenset("ɸβfvθðszʃʒʂʐçʝxɣχʁħʕhɦɕʑɬɮ")
_LINGUAL_STOPS = frozenset("tdʈɖcɟkgɡqɢ")

# Consonant targets by place: (jaw, spread, round, close, dental). A tongue
# consonant raises the jaw only part of the way: the teeth come a few
# millimetres apart, but the lips stay apart (as far as for a close vowel,
# a little further the further back it is made), so that only the lips
# close the mouth: a speaker's lips meet 1.4-2.7 times a second, on the
# bilabials and in pauses, not on every consonant. Labial ones close or
# narrow the lips themselves.
_PLACE_TARGET = {
    "bilabial": (0.0, 0.0, 0.0, 1.0, 0.0),
    "labiodental": (0.03, 0.0, 0.0, 0.0, 1.0),
    "labiovelar": (0.04, 0.0, 1.0, 0.0, 0.0),
    "dental": (0.37, 0.2, 0.0, 0.0, 0.0),
    "alveolar": (0.35, 0.25, 0.0, 0.0, 0.0),
    "postalveolar": (0.35, 0.0, 0.7, 0.0, 0.0),
    "retroflex": (0.36, 0.0, 0.3, 0.0, 0.0),
    "palatal": (0.35, 0.45, 0.0, 0.0, 0.0),
    "velar": (0.39, 0.1, 0.0, 0.0, 0.0),
    "uvular": (0.4, 0.0, 0.0, 0.0, 0.0),
    "pharyngeal": (0.44, 0.0, 0.0, 0.0, 0.0),
    "glottal": (0.39, 0.0, 0.0, 0.0, 0.0),
}
# How strongly a consonant holds each articulator. The jaw of a tongue
# consonant gives way to the vowels around it (less than theirs holds), a
# glottal one's wholly; the lips of a labial one, and the rounding of a
# labialized one, win (strong).
_PLACE_DOMINANCE = {
    "bilabial": (2.0, 0.5, 0.6, 4.0, 1.0),
    "labiodental": (1.6, 0.5, 0.6, 1.0, 6.0),
    "labiovelar": (2.4, 1.0, 4.0, 1.0, 1.0),
    "dental": (2.4, 0.3, 0.3, 1.0, 1.0),
    "alveolar": (1.6, 0.3, 0.3, 1.0, 1.0),
    "postalveolar": (2.0, 1.0, 2.5, 1.0, 1.0),
    "retroflex": (1.6, 0.3, 0.5, 1.0, 1.0),
    "palatal": (1.6, 0.8, 0.3, 1.0, 1.0),
    "velar": (1.2, 0.2, 0.2, 1.0, 1.0),
    "uvular": (1.2, 0.2, 0.2, 1.0, 1.0),
    "pharyngeal": (2.0, 0.2, 0.2, 1.0, 1.0),
    "glottal": (0.2, 0.05, 0.05, 1.0, 1.0),
}
_VOWEL_DOMINANCE = (2.0, 1.5, 2.0, 2.0, 1.0)
# The jaw opens with vowel height: close vowels part the lips (two fifths of
# an open vowel's opening), open ones drop it fully.
_JAW_CLOSE, _JAW_OPEN = 0.4, 1.0

# Diacritics and modifier letters that change the lips; the rest (length,
# stress, nasalization, aspiration, tone, syllabicity, palatalization) do not.
_LABIALIZED = frozenset("ʷᵝ")
_MORE_ROUNDED = "\u0339"
_LESS_ROUNDED = "\u031c"


def segments(ipa: str) -> tuple[Viseme, ...]:
    """The visemes of one phoneme as espeak names it, in order: 'aɪ' -> (a, ɪ); 'tʃ' -> (t, ʃ); '' -> ().

    Diphthongs and consonant clusters give one viseme per letter; modifier
    letters and combining marks adjust the letter before them. Letters the
    tables do not know (rare ASCII names) give a neutral, weak viseme.
    """
    letters: list[list[str]] = []
    for char in unicodedata.normalize("NFD", ipa):
        if unicodedata.combining(char) or char in _LABIALIZED or unicodedata.category(char) == "Lm":
            if letters:
                letters[-1].append(char)
        elif char.isalpha() or char == "?":
            letters.append([char])
    visemes = [_letter_viseme(letter, marks) for letter, *marks in letters]
    # An affricate (t͡ʃ, ts, dʒ) is one gesture: its stop and its fricative share a
    # place, so the lips take the fricative's shape throughout.
    merged: list[Viseme] = []
    previous = ""
    for (letter, *_), viseme in zip(letters, visemes, strict=False):
        if letter in _FRICATIVES and previous in _LINGUAL_STOPS:
            merged[-1] = viseme
        else:
            merged.append(viseme)
        previous = letter
    return tuple(merged)


def _letter_viseme(letter: str, marks: list[str]) -> Viseme:
    rounding = 0.0
    if any(mark in _LABIALIZED for mark in marks):
        rounding = 0.8
    if letter in _VOWELS:
        height, backness, rounded = _VOWELS[letter]
        round_ = (0.5 + 0.5 * (1 - height)) if rounded else 0.0
        if _MORE_ROUNDED in marks:
            round_ = min(round_ + 0.2, 1.0)
        if _LESS_ROUNDED in marks:
            round_ *= 0.6
        spread = 0.0 if rounded else (1 - height) * (1 - backness) * 0.9 + 0.1 * (1 - backness)
        jaw = _JAW_CLOSE + (_JAW_OPEN - _JAW_CLOSE) * height
        return Viseme((jaw, spread, max(round_, rounding), 0.0, 0.0), _VOWEL_DOMINANCE)
    place = _PLACE_OF.get(letter.lower())
    if place is None:
        return UNKNOWN
    jaw, spread, round_, close, dental = _PLACE_TARGET[place]
    dominance = _PLACE_DOMINANCE[place]
    if rounding:
        round_ = max(round_, rounding)
        dominance = (*dominance[:2], 4.0, *dominance[3:])
    if place == "bilabial" and letter in "ɸβ":
        # Bilabial fricatives narrow the lips without sealing them.
        return Viseme((0.05, 0.0, round_, 0.8, 0.0), dominance)
    return Viseme((jaw, spread, round_, close, dental), dominance, bilabial=place == "bilabial")
