"""The whole path over HTTP with a real worker: upload, consent, render, watermark + C2PA, public verification."""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile

from benchmarks.video_transforms import video_write
from inference import media, speech
from tests.helpers import active_portrait

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RENDER_TIMEOUT_S = 240


def _wait_done(api, render_ids):
    deadline = time.monotonic() + RENDER_TIMEOUT_S
    pending = set(render_ids)
    results = {}
    progress_seen = set()
    while pending and time.monotonic() < deadline:
        for render_id in list(pending):
            body = api.get(f"/api/renders/{render_id}/").json()
            progress_seen.add(round(body["progress"], 2))
            if body["status"] in ("done", "failed", "cancelled"):
                results[render_id] = body
                pending.discard(render_id)
        time.sleep(0.5)
    assert not pending, f"renders still unfinished after {RENDER_TIMEOUT_S}s: {pending}"
    return results, progress_seen


def _reencode(source: bytes, *, crf: int) -> bytes:
    """H.264 re-encode at the same size, video and audio, no metadata carried over (the manifest is stripped)."""
    with tempfile.TemporaryDirectory() as folder:
        original = Path(folder) / "original.mp4"
        original.write_bytes(source)
        frames = list(media.video_frames(original))
        sound, _ = media.video_sound(original, max_seconds=120)
        copy = video_write(Path(folder) / "copy.mp4", frames, sound, media.AUDIO_SAMPLE_RATE, crf=crf)
        return copy.read_bytes()


def _unrelated_video(image: np.ndarray) -> bytes:
    rng = np.random.default_rng(1)
    frames = (
        np.clip(image.astype(np.int16) + rng.integers(-3, 4, image.shape), 0, 255).astype(np.uint8) for _ in range(50)
    )
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.height, stream.width = image.shape[:2]
        stream.pix_fmt = "yuv420p"
        for index, frame in enumerate(frames):
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts = index
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def _verify(public_api, video: bytes):
    handle = io.BytesIO(video)
    handle.name = "clip.mp4"
    return public_api.post("/api/verify/", {"video": handle}, format="multipart")


def test_a_portrait_travels_from_upload_to_verified_video(
    celery_worker, api, public_api, outbox, subject_jpeg, live_webm, tmp_path
):
    portrait_id = active_portrait(api, public_api, outbox, subject_jpeg, live_webm)

    spoken = speech.synthesize("Thank you for watching. See you soon.", "en")
    wav = io.BytesIO()
    soundfile.write(wav, spoken.audio, spoken.sample_rate, format="WAV", subtype="PCM_16")
    wav.seek(0)
    wav.name = "message.wav"
    wav_seconds = spoken.audio.size / spoken.sample_rate

    submitted = {
        "en": api.post(
            "/api/renders/",
            {
                "portrait": portrait_id,
                "purpose": "marketing",
                "text": "Hello, I am glad to meet you.",
                "language": "en",
            },
            format="multipart",
        ),
        "de": api.post(
            "/api/renders/",
            {
                "portrait": portrait_id,
                "purpose": "marketing",
                "text": "Guten Tag, schön Sie zu sehen.",
                "language": "de",
            },
            format="multipart",
        ),
        "wav": api.post(
            "/api/renders/", {"portrait": portrait_id, "purpose": "education", "audio": wav}, format="multipart"
        ),
    }
    for name, response in submitted.items():
        assert response.status_code == 202, (name, response.json())
        assert response.json()["status"] == "queued"
    ids = {name: response.json()["id"] for name, response in submitted.items()}
    results, progress_seen = _wait_done(api, ids.values())
    for name, render_id in ids.items():
        assert results[render_id]["status"] == "done", (name, results[render_id])
    assert any(0 < p < 1 for p in progress_seen), "progress was never reported between 0 and 1"

    videos = {}
    for name, render_id in ids.items():
        body = results[render_id]
        response = api.get(body["video_url"])
        assert response.status_code == 200 and response["Content-Type"] == "video/mp4"
        videos[name] = b"".join(response.streaming_content)
        path = tmp_path / f"{name}.mp4"
        path.write_bytes(videos[name])
        info = media.video_probe(path)
        expected_seconds = wav_seconds if name == "wav" else body["duration_s"]
        assert info.fps == 25
        assert max(info.width, info.height) == 512
        assert info.has_audio
        assert abs(info.frame_count - expected_seconds * 25) <= 1, (name, info, expected_seconds)
        assert abs(info.audio_duration_s - info.duration_s) <= 0.1, (name, info)

    assert public_api.get(results[ids["en"]]["video_url"]).status_code == 401, "videos need the creator's token"

    for name, render_id in ids.items():
        report = _verify(public_api, videos[name]).json()
        assert report["verdict"] == "candor_generated", (name, report)
        assert report["c2pa"]["present"] and report["c2pa"]["valid"] and report["c2pa"]["trusted"]
        assert report["c2pa"]["digital_source_type"].endswith("trainedAlgorithmicMedia")
        assert report["watermark"]["found"] and report["watermark"]["render_id"] == render_id
        assert report["render"]["id"] == render_id and report["render"]["consent_status"] == "active"

    stripped = _reencode(videos["en"], crf=28)
    report = _verify(public_api, stripped).json()
    assert report["c2pa"]["present"] is False
    assert report["verdict"] == "candor_generated"
    assert report["watermark"]["render_id"] == ids["en"]
    assert report["render"]["id"] == ids["en"]

    import skimage.data

    unrelated = _verify(public_api, _unrelated_video(skimage.data.coffee()[:400, :400])).json()
    assert unrelated["verdict"] == "not_recognized"
    assert unrelated["watermark"]["found"] is False and unrelated["render"] is None
