"""`manage.py stream`: live mode on a consented portrait, written as a fragmented MP4 the verifier recognises."""

from __future__ import annotations

import io
import os
import re
import sys
import threading
from io import StringIO
from pathlib import Path

import av
import pytest
import soundfile
from django.core.management import CommandError, call_command

from inference import frame_count
from inference.media import AUDIO_SAMPLE_RATE, audio_decode
from inference.speech import synthesize
from tests.provenance.mp4_boxes import top_level_box

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory) -> Path:
    spoken = synthesize("Hello there, this is a live message for everyone.", "en")
    path = tmp_path_factory.mktemp("stream") / "speech.wav"
    soundfile.write(path, spoken.audio, spoken.sample_rate, subtype="PCM_16")
    return path


def decoded(data: bytes) -> dict:
    """Frames, frame rate and durations of an MP4's video and audio, decoded with PyAV."""
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video)]
        fps = float(video.average_rate)
    with av.open(io.BytesIO(data)) as container:
        audio = container.streams.audio[0]
        audio_s = sum(frame.samples for frame in container.decode(audio)) / audio.rate
    return {"frames": frames, "fps": fps, "video_s": len(frames) / fps, "audio_s": audio_s}


def fragments(data: bytes) -> int:
    """How many movie fragments (moof boxes) follow each other at the top level."""
    count, offset = 0, 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        count += data[offset + 4 : offset + 8] == b"moof"
        offset += size
    return count


def test_it_streams_a_consented_portrait_to_a_fragmented_mp4_that_the_verifier_recognises(
    consented_portrait, speech_wav, tmp_path
):
    from consent.models import ConsentEvent
    from studio.models import Render
    from verifier.services import video_verify

    out = tmp_path / "live.mp4"
    stderr = StringIO()
    call_command("stream", portrait=str(consented_portrait.id), audio=speech_wav, out=str(out), stderr=stderr)

    audio_s = audio_decode(speech_wav.read_bytes()).size / AUDIO_SAMPLE_RATE
    data = out.read_bytes()
    top_level_box(data, b"moov")
    assert fragments(data) >= 2  # one per second of video: playable while it is written
    video = decoded(data)
    assert len(video["frames"]) == frame_count(round(audio_s * AUDIO_SAMPLE_RATE), AUDIO_SAMPLE_RATE, 25)
    assert video["fps"] == 25
    assert video["video_s"] == pytest.approx(audio_s, abs=0.04)
    assert video["audio_s"] == pytest.approx(audio_s, abs=0.05)

    render = Render.objects.get(portrait=consented_portrait)
    assert render.status == Render.Status.DONE and render.duration_s == pytest.approx(audio_s)
    assert ConsentEvent.objects.filter(consent=render.consent, kind="render_started", details__live=True).exists()
    report = video_verify(path=out)
    assert report.verdict == "candor_generated"
    assert report.watermark["render_id"] == str(render.id)
    assert report.content_match is True

    # Measured by the command: audio handed in when each frame came out, minus the frame's time (20 ms chunks).
    added_ms = int(re.search(r"added latency: at most (\d+) ms", stderr.getvalue()).group(1))
    assert 160 <= added_ms <= 200
    assert re.search(r"speed: [\d.]+ frames per second", stderr.getvalue())


def test_it_writes_to_stdout_as_the_frames_come(consented_portrait, speech_wav, monkeypatch):
    """`--out -` into a pipe (which cannot seek), as when piped into a player."""
    read_end, write_end = os.pipe()
    chunks: list[bytes] = []

    def read_all():
        while piece := os.read(read_end, 1 << 16):
            chunks.append(piece)

    reader = threading.Thread(target=read_all)
    reader.start()
    pipe = io.TextIOWrapper(os.fdopen(write_end, "wb"))
    monkeypatch.setattr(sys, "stdout", pipe)
    try:
        call_command(
            "stream", portrait=str(consented_portrait.id), audio=speech_wav, out="-", chunk_ms=40, stderr=StringIO()
        )
    finally:
        pipe.close()
        reader.join(timeout=30)
        os.close(read_end)
    video = decoded(b"".join(chunks))
    audio_s = audio_decode(speech_wav.read_bytes()).size / AUDIO_SAMPLE_RATE
    assert video["fps"] == 25 and video["video_s"] == pytest.approx(audio_s, abs=0.04)
    assert len(chunks) > 1


def test_it_refuses_a_portrait_without_active_consent(creator, portrait_jpeg, speech_wav, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from studio.models import Render
    from studio.services import portrait_create

    portrait = portrait_create(
        owner=creator,
        image=SimpleUploadedFile("portrait.jpg", portrait_jpeg, content_type="image/jpeg"),
        subject_name="Eileen Collins",
        subject_email="eileen@example.com",
    )
    out = tmp_path / "live.mp4"
    with pytest.raises(CommandError, match="consent_required: the person pictured has not given active consent"):
        call_command("stream", portrait=str(portrait.id), audio=speech_wav, out=str(out), stderr=StringIO())
    assert not out.exists()
    assert not Render.objects.filter(portrait=portrait).exists()


def test_it_refuses_a_purpose_the_consent_does_not_cover(consented_portrait, speech_wav, tmp_path):
    from consent.models import Consent

    Consent.objects.filter(portrait=consented_portrait).update(purposes=["education"])
    with pytest.raises(CommandError, match="does not cover the purpose 'marketing'"):
        call_command(
            "stream",
            portrait=str(consented_portrait.id),
            audio=speech_wav,
            out=str(tmp_path / "x.mp4"),
            purpose="marketing",
            stderr=StringIO(),
        )


def test_it_stops_when_consent_is_revoked_during_the_stream(consented_portrait, speech_wav, tmp_path, monkeypatch):
    from consent.models import Consent
    from provenance.services import live_frame_filter
    from studio.management.commands import stream as command
    from studio.models import Render
    from studio.services import renders_cancel_for_consent

    def revoking_after_ten_frames(*, render, sound):
        marked, count = live_frame_filter(render=render, sound=sound), [0]

        def filtered(frame):
            count[0] += 1
            if count[0] == 10:
                consent = Consent.objects.get(id=render.consent_id)
                Consent.objects.filter(id=consent.id).update(status=Consent.Status.REVOKED)
                renders_cancel_for_consent(consent=consent)
            return marked(frame)

        filtered.store = marked.store
        return filtered

    monkeypatch.setattr(command, "live_frame_filter", revoking_after_ten_frames)
    out = tmp_path / "live.mp4"
    with pytest.raises(CommandError, match="stopped after 25 frames: consent is no longer active"):
        call_command("stream", portrait=str(consented_portrait.id), audio=speech_wav, out=str(out), stderr=StringIO())
    assert Render.objects.get(portrait=consented_portrait).status == Render.Status.CANCELLED
    # What was sent before the check stays a playable video: a second of it, nothing after.
    assert len(decoded(out.read_bytes())["frames"]) == 25


def test_it_refuses_an_unknown_portrait_and_a_missing_audio_file(consented_portrait, tmp_path):
    with pytest.raises(CommandError, match="no portrait"):
        call_command("stream", portrait="not-a-uuid", audio=tmp_path / "a.wav", out=str(tmp_path / "x.mp4"))
    with pytest.raises(CommandError, match="audio file not found"):
        call_command(
            "stream", portrait=str(consented_portrait.id), audio=tmp_path / "a.wav", out=str(tmp_path / "x.mp4")
        )
    assert not list(tmp_path.glob("*.mp4"))
