"""Timed captions of renders (WebVTT, and SRT for editors and platforms that take only that), from the synthesizer's
word timings or a pasted transcript, kept beside the video.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from inference.acoustics import SPEECH_WINDOW_S, speech_windows

# A cue holds a few words so that captions stay readable and do not flicker word by word.
CUE_MAX_WORDS = 7
CUE_MAX_SECONDS = 3.5
CAPTIONS_FOLDER = "captions"
_MILLISECOND = Fraction(1, 1000)
# The mov_text encoder takes its one style from an ASS header: white sans-serif text at the bottom centre.
_MOV_TEXT_HEADER = b"""[Script Info]
ScriptType: v4.00+
PlayResX: 384
PlayResY: 288

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, \
StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,Sans,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""


def _timestamp(seconds: float, *, decimal: str = ".") -> str:
    """WebVTT's "00:00:01.250"; SRT writes the same time with a comma."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def caption_cues(words: Iterable[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """(start_s, end_s, text) cues from (start_s, end_s, word) triples; a cue ends after a sentence, CUE_MAX_WORDS or
    CUE_MAX_SECONDS.
    """
    groups: list[list[tuple[float, float, str]]] = []
    for word in words:
        current = groups[-1] if groups else None
        if (
            current is None
            or len(current) >= CUE_MAX_WORDS
            or word[1] - current[0][0] > CUE_MAX_SECONDS
            or current[-1][2].endswith((".", "!", "?", "。", "！", "？"))
        ):
            groups.append([word])
        else:
            current.append(word)
    return [(group[0][0], group[-1][1], " ".join(word for _, _, word in group)) for group in groups]


def captions_webvtt(words: Iterable[tuple[float, float, str]]) -> str:
    """The cues as a WebVTT file (what browsers show in a <track>)."""
    lines = ["WEBVTT", ""]
    for index, (start, end, text) in enumerate(caption_cues(words), start=1):
        # Cue text is markup: "<" and "&" would start tags or entities, and "-->" would end the cue early.
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        lines += [str(index), f"{_timestamp(start)} --> {_timestamp(end)}", escaped, ""]
    return "\n".join(lines)


def captions_srt(words: Iterable[tuple[float, float, str]]) -> str:
    """The same cues, at the same times, as a SubRip (.srt) file."""
    lines = []
    for index, (start, end, text) in enumerate(caption_cues(words), start=1):
        lines += [str(index), f"{_timestamp(start, decimal=',')} --> {_timestamp(end, decimal=',')}", text, ""]
    return "\n".join(lines)


def captions_embed(*, path: Path, words: Iterable[tuple[float, float, str]]) -> None:
    """Add the cues to the MP4 at `path` as a mov_text subtitle track (players such as VLC and QuickTime show it).

    Audio and video packets are copied, not re-encoded; the file is replaced atomically. Run before signing: the
    C2PA manifest covers the whole file.
    """
    cues = caption_cues(words)
    if not cues:
        return
    partial = path.with_name(f".captioned-{path.name}")
    try:
        with (
            av.open(str(path)) as source,
            av.open(str(partial), mode="w", format="mp4", options={"movflags": "+faststart"}) as target,
        ):
            copies = {
                stream.index: target.add_stream_from_template(stream)
                for stream in source.streams
                if stream.type in ("video", "audio")
            }
            subtitles = target.add_stream("mov_text")
            subtitles.codec_context.subtitle_header = _MOV_TEXT_HEADER
            subtitles.codec_context.time_base = subtitles.time_base = _MILLISECOND
            for start, end, text in cues:
                # A mov_text sample is the text's UTF-8 byte count (16-bit big-endian) followed by the text.
                data = text.encode("utf-8")[:65_535]
                packet = av.Packet(len(data).to_bytes(2, "big") + data)
                packet.stream, packet.time_base = subtitles, _MILLISECOND
                packet.pts = packet.dts = round(start * 1000)
                packet.duration = max(1, round((end - start) * 1000))
                target.mux(packet)
            for packet in source.demux(*(source.streams[index] for index in copies)):
                if packet.dts is None:  # the demuxer's end-of-stream marker
                    continue
                packet.stream = copies[packet.stream_index]
                target.mux(packet)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def transcript_timed(transcript: str, audio: np.ndarray, sample_rate: int) -> list[tuple[float, float, str]]:
    """(start_s, end_s, word) of a pasted transcript over mono audio (N,), spread across the speech by word length.

    The speech runs from the first to the last loud window near a run of them (a lone click is not speech).
    Approximate: nothing here hears when each word is spoken, so a word may show a moment early or late; cues a
    few words long keep that readable.
    """
    words = transcript.split()
    voiced = np.flatnonzero(speech_windows(audio, sample_rate)) if words else np.zeros(0, int)
    if not voiced.size:
        return []
    window = max(1, round(SPEECH_WINDOW_S * sample_rate))
    start, end = voiced[0] * window / sample_rate, (voiced[-1] + 1) * window / sample_rate
    weights = np.array([len(word) + 1 for word in words], dtype=float)
    edges = start + (end - start) * np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum()
    return [(float(edges[i]), float(edges[i + 1]), word) for i, word in enumerate(words)]


CAPTION_FORMATS = ("vtt", "srt")


def captions_name(render_id, caption_format: str = "vtt") -> str:
    """Storage name of a render's captions in a format of CAPTION_FORMATS, derived from its id (no model field)."""
    return f"{CAPTIONS_FOLDER}/{render_id}.{caption_format}"


def captions_save(*, render_id, words: Iterable[tuple[float, float, str]]) -> str:
    """Store the captions as WebVTT and as SRT; returns the WebVTT file's name."""
    words = list(words)
    for caption_format, text in (("srt", captions_srt(words)), ("vtt", captions_webvtt(words))):
        name = captions_name(render_id, caption_format)
        if default_storage.exists(name):
            default_storage.delete(name)
        saved = default_storage.save(name, ContentFile(text.encode("utf-8")))
    return saved


def captions_delete(*, render_id) -> None:
    for caption_format in CAPTION_FORMATS:
        name = captions_name(render_id, caption_format)
        if default_storage.exists(name):
            default_storage.delete(name)
