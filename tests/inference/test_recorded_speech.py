"""The audio-only mouth on recorded human speech: a professional speaker's telephone prompt from Debian's
asterisk-core-sounds-en-wav, read as an upload is (16 kHz), its phones placed by the English aligner."""

import numpy as np
import pytest

from benchmarks import quality, recorded_speech
from inference import media, recognition
from inference.animation import frame_count
from inference.articulation import CLOSE, JAW, acoustic_track

FPS = 25
RATE = media.AUDIO_SAMPLE_RATE
# "That agent is already logged on.  Please enter your agent number followed by the pound key."
PROMPT = recorded_speech.Prompt(
    "en",
    "agent-alreadyon",
    "wav",
    "That agent is already logged on.  Please enter your agent number followed by the pound key.",
)
# "Goodbye.  Thank you for trying out the Asterisk Open Source PBX." (two pauses of 200 ms or more inside it)
PAUSED = recorded_speech.Prompt(
    "en", "demo-thanks", "wav", "Goodbye.  Thank you for trying out the Asterisk Open Source PBX."
)
OPEN_VOWELS = ("æ", "ɑ", "ɔ", "aɪ", "aʊ")


def _recorded(prompt: recorded_speech.Prompt) -> np.ndarray:
    path = recorded_speech.prompt_path(prompt)
    if not path.exists():
        pytest.skip(f"no recorded prompt at {path}: apt-get install asterisk-core-sounds-en-wav")
    return recorded_speech.load(prompt)


@pytest.fixture(scope="module")
def recording():
    return _recorded(PROMPT)


@pytest.fixture(scope="module")
def phones(recording):
    aligned = recognition.aligned_phonemes(recording, RATE, PROMPT.transcript)
    assert aligned is not None
    return aligned


@pytest.fixture(scope="module")
def track(recording):
    return acoustic_track(recording, RATE, frame_count(len(recording), RATE, FPS), FPS)


def _centre(start: float, end: float) -> int:
    return int((start + end) / 2 * FPS)


def test_open_vowels_of_a_recorded_voice_open_the_jaw_and_never_shut_the_lips(track, phones):
    # A recorded voice puts most of a vowel's energy in the low band, where espeak's does not; read against
    # espeak's balance, the /ɑ/ of "on" was nasal murmur (lips shut) and the /aʊ/ of "pound" barely opened.
    vowels = [(ipa, _centre(start, end)) for start, end, ipa in phones if ipa.startswith(OPEN_VOWELS)]
    assert len(vowels) >= 6
    for ipa, frame in vowels:
        assert track[frame, CLOSE] < 0.5, (ipa, frame)
        assert track[frame, JAW] >= 0.3, (ipa, frame)


def test_the_lips_shut_on_the_bilabials_of_number(track, phones):
    words = recognition.transcript_words(PROMPT.transcript)
    assert "number" in words
    bilabials = [(ipa, _centre(start, end)) for start, end, ipa in phones if ipa in ("m", "b")]
    # "number" is the only word with /m/ then /b/, back to back.
    pairs = [(a, b) for a, b in zip(bilabials, bilabials[1:], strict=False) if (a[0], b[0]) == ("m", "b")]
    assert len(pairs) == 1
    for _, frame in pairs[0]:
        assert track[frame - 1 : frame + 2, CLOSE].max() >= 0.95
        assert track[frame - 1 : frame + 2, JAW].min() <= 0.05


@pytest.mark.parametrize("snr_db", [None, recorded_speech.NOISE_SNR_DB], ids=["quiet", "noisy room"])
def test_the_lips_rest_closed_in_the_pauses_between_phrases(snr_db):
    recording = _recorded(PAUSED)
    heard = recorded_speech.in_room(recording, RATE, snr_db, seed=0)
    n_frames = frame_count(len(heard), RATE, FPS)
    track = acoustic_track(heard, RATE, n_frames, FPS)
    # The judge's pauses (200 ms or more without speech, read on the clean recording) inside the speech.
    speaking = recorded_speech.speech_frames_mask(recorded_speech.in_room(recording, RATE, None, 0), RATE, n_frames)
    spoken = np.flatnonzero(speaking)
    pauses = [(a, b) for a, b in recorded_speech.runs(~speaking) if b - a >= 5 and spoken[0] < a and b < spoken[-1]]
    assert len(pauses) == 2
    for first, last in pauses:
        middle = slice(first + 2, last - 2)  # the lips take a frame or two to close and to part
        assert np.all(track[middle, JAW] <= 0.05), (first, last)
        assert np.all(track[middle, CLOSE] >= 0.75), (first, last)
        assert track[first:last, CLOSE].max() >= 0.95, (first, last)


def test_the_mouth_follows_the_sound_without_lag(recording, track):
    openness = track[:, JAW] * (1 - track[:, CLOSE])
    envelope = quality.speech_envelope(recording, RATE, len(track), FPS)
    assert quality.best_lag(openness, envelope) == 0
