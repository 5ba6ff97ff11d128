"""Mouth tracks: coarticulated visemes from the synthesizer's timings, and acoustic estimates from audio alone."""

import numpy as np
import pytest
from scipy.signal import lfilter

from inference import speech
from inference.acoustics import acoustic_features
from inference.articulation import (
    CLOSE,
    DENTAL,
    JAW,
    ROUND,
    SPREAD,
    acoustic_track,
    viseme_track,
)
from inference.motion import (
    blink_peaks,
    blink_track,
    brow_track,
    head_track,
    speech_level,
)

FPS = 25
SENTENCES = {
    "en": "Maybe the big brown bear will come back by the time we open the map.",
    "es": "Mi madre compra pan y manzanas para el bebé cada mañana.",
    "zh": "爸爸妈妈明天不忙，我们一边吃苹果一边聊天。",
}


@pytest.fixture(scope="module", params=sorted(SENTENCES))
def spoken(request):
    # espeak's reading: its closures are silent, which is what these figures were set on. A natural voice's closures
    # are not (the audio-only path shuts about half of the natural English voice's bilabials; issue #17's recorded
    # speech is where that gets measured and mended).
    result = speech.synthesize(SENTENCES[request.param], request.param, voice=speech.espeak_voice(request.param))
    return result, round(len(result.audio) * FPS / result.sample_rate)


def bilabial_frames(phonemes):
    return [int((start + end) / 2 * FPS) for start, end, ipa in phonemes if ipa[0] in "pbm"]


def test_every_bilabial_reaches_a_full_closure_at_its_middle(spoken):
    result, n_frames = spoken
    track = viseme_track(result.phonemes, n_frames, FPS)
    frames = bilabial_frames(result.phonemes)
    assert len(frames) >= 5
    for frame in frames:
        assert track[frame, CLOSE] == 1.0 and track[frame, JAW] == 0.0
    assert track.min() >= 0.0 and track.max() <= 1.0


def test_vowels_open_the_jaw_between_the_closures(spoken):
    result, n_frames = spoken
    track = viseme_track(result.phonemes, n_frames, FPS)
    vowel_frames = [int((s + e) / 2 * FPS) for s, e, ipa in result.phonemes if ipa[0] in "aɑæɐ"]
    assert np.mean(track[vowel_frames, JAW]) > 0.6


def test_lips_anticipate_a_closure_hold_it_and_blend_out_of_it():
    # "a m a" with a 120 ms /m/ (frames 10-12): the lips start closing before it, stay shut through it
    # and open gradually after.
    phonemes = [(0.0, 0.4, "a"), (0.4, 0.52, "m"), (0.52, 1.0, "a")]
    track = viseme_track(phonemes, FPS, FPS)
    assert (track[10:13, CLOSE] == 1.0).all() and (track[10:13, JAW] == 0.0).all()
    assert track[8, CLOSE] < track[9, CLOSE] and 0.05 < track[9, CLOSE] < 1.0
    assert track[5, JAW] > 0.9 and track[20, JAW] > 0.9
    assert 0.05 < track[13, JAW] < track[14, JAW]


def test_lip_shapes_follow_the_phonemes():
    phonemes = [(0.0, 0.3, "i"), (0.3, 0.6, "u"), (0.6, 0.9, "f"), (0.9, 1.2, "a")]
    track = viseme_track(phonemes, 30, FPS)
    assert track[3, SPREAD] > 0.8 and track[3, ROUND] < 0.1
    assert track[11, ROUND] > 0.8 and track[11, SPREAD] < 0.1
    assert track[19, DENTAL] > 0.8
    assert track[27, JAW] > 0.9


def test_pauses_and_silence_leave_the_mouth_closed_and_relaxed():
    track = viseme_track([(0.5, 0.8, "a")], 50, FPS)
    assert track[:8, JAW].max() < 0.05 and track[30:, JAW].max() < 0.01
    assert (track[30:, CLOSE] > 0.99).all()
    silent = acoustic_track(np.zeros(16000, np.float32), 16000, FPS, FPS)
    assert not silent[:, [JAW, SPREAD, ROUND, DENTAL]].any()
    assert (silent[:, CLOSE] == 1.0).all()
    hiss = np.random.default_rng(0).normal(0, 1e-4, 16000).astype(np.float32)  # -80 dBFS
    assert not acoustic_track(hiss, 16000, FPS, FPS)[:, JAW].any()


def test_a_pause_holds_the_lips_shut_up_to_the_frame_where_speech_starts():
    # Text: 0.5 s before the vowel and 0.25 s after it, then 0.15 s between two vowels (shorter than a pause).
    track = viseme_track([(0.5, 0.8, "a"), (1.05, 1.2, "a"), (1.35, 1.6, "a")], 50, FPS)
    shut = (track[:, JAW] == 0.0) & (track[:, CLOSE] == 1.0)
    assert shut[:12].all() and shut[20:26].all()  # every frame wholly inside the first two gaps
    assert not shut[30:34].any()
    # Audio: a phrase after half a second of silence.
    spoken = speech.synthesize("Hello there.", "en", voice=speech.espeak_voice("en"))
    silence = np.zeros(spoken.sample_rate // 2, np.float32)
    audio = np.concatenate([silence, spoken.audio])
    track = acoustic_track(audio, spoken.sample_rate, round(len(audio) * FPS / spoken.sample_rate), FPS)
    first_sound = np.flatnonzero(np.abs(audio) > 0.01 * np.abs(audio).max())[0] / spoken.sample_rate
    before = int((first_sound - 0.05) * FPS)  # voice activity is held 50 ms before a sound
    assert (track[:before, JAW] == 0.0).all() and (track[:before, CLOSE] == 1.0).all()
    assert track[before + 2, JAW] > 0.1


def test_audio_alone_opens_on_vowels_and_shuts_the_bilabials(spoken):
    result, n_frames = spoken
    track = acoustic_track(result.audio, result.sample_rate, n_frames, FPS)
    from_text = viseme_track(result.phonemes, n_frames, FPS)
    assert np.corrcoef(track[:, JAW], from_text[:, JAW])[0, 1] > 0.7
    frames = bilabial_frames(result.phonemes)
    shut = [lips_shut(track, frame) for frame in frames]
    assert np.mean(shut) >= 0.9
    assert track.min() >= 0.0 and track.max() <= 1.0
    assert np.array_equal(track, acoustic_track(result.audio, result.sample_rate, n_frames, FPS))


def test_audio_alone_shuts_the_lips_through_steady_background_noise(spoken):
    # A recording as uploads come (16 kHz): a lead-in and tail of white noise 40 dB below the peak, which also
    # fills every silent closure. Before the noise was taken out: 33%, 75% and 45% of the bilabials (en, es, zh);
    # now 100%, 100% and 55%.
    from inference import media

    result, _ = spoken
    rate, lead = 16000, 0.3
    padding = np.zeros(round(lead * rate), np.float32)
    clean = np.concatenate([padding, media.audio_resample(result.audio, result.sample_rate, rate), padding])
    noise = np.random.default_rng(7).normal(0, 1, len(clean)) * np.abs(clean).max() * 10 ** (-40 / 20)
    noisy = (clean + noise).astype(np.float32)
    n_frames = round(len(noisy) * FPS / rate)
    track = acoustic_track(noisy, rate, n_frames, FPS)
    frames = [frame + round(lead * FPS) for frame in bilabial_frames(result.phonemes)]
    assert np.mean([lips_shut(track, frame) for frame in frames]) >= 0.5
    assert np.corrcoef(track[:, JAW], acoustic_track(clean, rate, n_frames, FPS)[:, JAW])[0, 1] > 0.85


def lips_shut(track, frame):
    """The lips are shut (jaw closed, lips pressed) on a frame within one of this one."""
    near = track[max(frame - 1, 0) : frame + 2]
    return bool(((near[:, JAW] == 0.0) & (near[:, CLOSE] == 1.0)).any())


# Each voice speaks a stop or nasal between two /a/: only the lips' own close them.
# (Velar /g/ is left out: its burst is not yet told from a labial one in these voices.)
@pytest.mark.parametrize("voice", ["it", "it+f2", "it+m3"])
def test_audio_alone_shuts_the_lips_for_labial_stops_and_nasals_only(voice):
    for word, labial in [
        ("aba", True),
        ("apa", True),
        ("ama", True),
        ("ada", False),
        ("ata", False),
        ("ana", False),
        ("aka", False),
    ]:
        result = speech.synthesize(word, "it", voice=voice)
        n_frames = round(len(result.audio) * FPS / result.sample_rate)
        track = acoustic_track(result.audio, result.sample_rate, n_frames, FPS)
        start, end, consonant = next(p for p in result.phonemes if p[2][0] not in "aeiou")
        assert consonant[0] == word[1]
        middle = int((start + end) / 2 * FPS)
        if labial:
            assert lips_shut(track, middle), (voice, word)
        else:
            span = track[int(start * FPS) : int(np.ceil(end * FPS)) + 1]
            assert span[:, JAW].min() > 0.2 and span[:, CLOSE].max() < 0.5, (voice, word)


# Spanish /d/ between vowels is an approximant /ð/: a dip darker than the vowels, murmur-like in some voices, that
# used to be read as a voiced lip closure. (Velar /ɣ/ in "agua", before the rounded /w/, is not yet told apart.)
@pytest.mark.parametrize("voice", ["es", "es+f2", "es+m3"])
def test_audio_alone_leaves_the_lips_apart_for_an_approximant_between_vowels(voice):
    for text in ["cada", "nada", "lado", "toda", "la seda"]:
        result = speech.synthesize(text, "es", voice=voice)
        n_frames = round(len(result.audio) * FPS / result.sample_rate)
        track = acoustic_track(result.audio, result.sample_rate, n_frames, FPS)
        start, end, _ = next(p for p in result.phonemes if p[2] == "ð")
        span = track[int(start * FPS) : int(np.ceil(end * FPS)) + 1]
        assert span[:, JAW].min() > 0.2 and span[:, CLOSE].max() < 0.5, (voice, text)


# Uploads are decoded at 16 kHz. Closures the audio path used to miss there: a recording that starts on a
# voiced /b/ (the mouth it starts from is at rest, lips together), an /m/ whose murmur LPC reads with a high F1
# in a man's voice (the nasal's antiresonance hides its first resonance), a /b/ whose voice bar stays a little
# bright (its release burst places it, not an approximant's F2 rule), and the /b/ of "box by": a silence after /s/
# whose first hop keeps a faint tail of the hiss (hiss counts only where it is audible).
@pytest.mark.parametrize(
    ("sentence", "voice", "nth_bilabial"),
    [
        ("Bob must keep his promise to bring back the blue umbrella.", "en-us+m7", 0),
        ("Maybe the big brown bear will come back by the time we open the map.", "en-us", -2),
        ("Please bring my mother a bowl of warm soup before the movie begins.", "en-us+f2", 4),
        ("The baby put the purple ball in the box by the lamp.", "en-us+m3", -3),
    ],
    ids=["starts-on-b", "murmur-of-map", "bright-voice-bar", "silent-after-s"],
)
def test_audio_alone_shuts_the_lips_where_uploads_used_to_miss(sentence, voice, nth_bilabial):
    from inference import media

    result = speech.synthesize(sentence, "en", voice=voice)
    audio = media.audio_resample(result.audio, result.sample_rate, 16000)
    n_frames = round(len(audio) * FPS / 16000)
    track = acoustic_track(audio, 16000, n_frames, FPS)
    assert lips_shut(track, bilabial_frames(result.phonemes)[nth_bilabial])


def synthetic_vowel(formants, sample_rate, pitch=110.0, seconds=0.5):
    """A vowel made the textbook way: a pulse train at the pitch through resonators (Hz, bandwidth Hz)."""
    sound = np.zeros(int(seconds * sample_rate))
    sound[:: round(sample_rate / pitch)] = 1.0
    for frequency, bandwidth in formants:
        radius = np.exp(-np.pi * bandwidth / sample_rate)
        sound = lfilter([1 - radius], [1, -2 * radius * np.cos(2 * np.pi * frequency / sample_rate), radius**2], sound)
    return (0.3 * sound / np.abs(sound).max()).astype(np.float32)


@pytest.mark.parametrize("sample_rate", [16000, 44100])
@pytest.mark.parametrize(
    "formants",
    [
        ((700, 80), (1220, 90), (2600, 120)),  # /a/
        ((300, 60), (2250, 100), (3000, 150)),  # /i/
        ((350, 60), (800, 80), (2300, 120)),
    ],
)  # /u/
def test_linear_prediction_finds_the_formants_of_a_vowel(formants, sample_rate):
    features = acoustic_features(synthetic_vowel(formants, sample_rate), sample_rate, 50, 100)
    found = np.median(features[10:40, 2:5], axis=0)  # level, voicing, then F1-F3
    for (frequency, _), estimate in zip(formants, found, strict=False):
        assert abs(estimate - frequency) < 0.1 * frequency + 40, (formants, found)


def test_an_open_vowel_opens_the_jaw_wider_than_a_close_one():
    rate = 16000
    open_vowel = acoustic_track(synthetic_vowel(((700, 80), (1220, 90), (2600, 120)), rate), rate, 12, FPS)
    close_vowel = acoustic_track(synthetic_vowel(((300, 60), (2250, 100), (3000, 150)), rate), rate, 12, FPS)
    assert open_vowel[3:9, JAW].mean() > 1.5 * close_vowel[3:9, JAW].mean() > 0.1
    assert close_vowel[3:9, SPREAD].mean() > 0.5 > open_vowel[3:9, SPREAD].mean()


def test_blinks_come_every_two_to_six_seconds_sometimes_twice_and_repeat_for_a_seed():
    track = blink_track(120 * FPS, FPS, seed=7)
    peaks = blink_peaks(track)
    gaps = np.diff(peaks) / FPS
    doubles = gaps[gaps < 0.5]
    intervals = gaps[gaps >= 0.5]
    assert len(doubles) >= 1  # an occasional double blink
    assert (doubles >= 0.2).all()
    assert intervals.min() >= 2.0 - 0.4 and intervals.max() <= 6.0
    assert 8 <= len(intervals) / 2 <= 30  # blink events per minute
    # Each blink closes and reopens within about 120-160 ms (3-5 frames at 25 fps).
    blinking = np.flatnonzero(track > 0)
    runs = np.split(blinking, np.flatnonzero(np.diff(blinking) > 1) + 1)
    assert all(2 <= len(run) <= 5 for run in runs if len(run) <= 5)
    assert track.min() == 0.0 and track.max() == 1.0
    assert np.array_equal(track, blink_track(120 * FPS, FPS, seed=7))
    assert not np.array_equal(track, blink_track(120 * FPS, FPS, seed=8))


def test_head_motion_nods_with_stressed_syllables_and_sways_when_silent(spoken):
    result, n_frames = spoken
    level = speech_level(result.audio, result.sample_rate, n_frames, FPS)
    speaking = head_track(level, FPS, seed=1)
    silent = head_track(np.zeros(n_frames), FPS, seed=1)
    assert np.abs(speaking).max() < 5.0 and np.abs(silent).max() < 3.5
    assert silent.std(axis=0).min() > 0.05  # idle sway and breathing
    assert speaking[:, 1].std() > silent[:, 1].std()  # nods on stressed syllables
    assert np.abs(np.diff(speaking, 2, axis=0)).max() < 0.2  # smooth: degrees per frame²
    assert not np.array_equal(speaking, head_track(level, FPS, seed=2))


def test_brows_rise_on_stressed_syllables_only(spoken):
    result, n_frames = spoken
    level = speech_level(result.audio, result.sample_rate, n_frames, FPS)
    brows = brow_track(level, FPS)
    assert brows.max() > 0.3
    assert (brows > 0.2).mean() < 0.5
    assert not brow_track(np.zeros(n_frames), FPS).any()
