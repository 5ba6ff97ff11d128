"""Media fuzzing: 300 mutated or malformed images, audio files and videos; each gets a 4xx or is accepted,
never a 5xx.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import soundfile
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from studio.models import Portrait, Render

pytestmark = pytest.mark.django_db

SEED = 7


@pytest.fixture(autouse=True)
def own_media_folder(settings, tmp_path):
    """Only this test's files are counted (earlier tests' files outlive their rolled-back rows)."""
    settings.MEDIA_ROOT = tmp_path / "media"


def _mutants(base: bytes, count: int, rng: np.random.Generator, magics: list[bytes]) -> list[bytes]:
    """Truncations, flipped bytes, foreign magic numbers, inserted junk and zeroed spans of one valid file."""
    out = []
    for index in range(count):
        data = bytearray(base)
        kind = index % 5
        if kind == 0:
            data = data[: int(rng.integers(0, len(data)))]
        elif kind == 1:
            for position in rng.integers(0, len(data), int(rng.integers(1, 64))):
                data[position] = int(rng.integers(0, 256))
        elif kind == 2:
            magic = magics[index % len(magics)]
            data[: len(magic)] = magic
        elif kind == 3:
            at = int(rng.integers(0, len(data)))
            data[at:at] = rng.integers(0, 256, int(rng.integers(1, 4096)), dtype=np.uint8).tobytes()
        else:
            start = int(rng.integers(0, len(data)))
            data[start : start + int(rng.integers(1, 8192))] = bytes(min(8192, len(data) - start))
        out.append(bytes(data))
    return out


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_bomb(width: int, height: int) -> bytes:
    """A valid PNG header declaring a huge image, with a tiny compressed stream of zeros."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    stream = zlib.compress(b"\x00" * 1_000_000, 9)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", stream) + _png_chunk(b"IEND", b"")


def _wav(samples: np.ndarray, rate: int, subtype: str = "PCM_16", fmt: str = "WAV") -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def _video(frames: int, *, vfr: bool = False, size: int = 64) -> bytes:
    import av

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        pts = 0
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((size, size, 3), index * 9 % 255, np.uint8), format="rgb24")
            pts += 1 + (index % 4 if vfr else 0)
            frame.pts = pts
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


MAGICS = [
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",
    b"RIFF\x00\x00\x00\x00WEBP",
    b"GIF89a",
    b"%PDF-1.7",
    b"PK\x03\x04",
    b"\x00\x00\x00\x18ftypmp42",
    b"ID3\x04",
    b"OggS",
    b"fLaC",
    b"\x7fELF",
    b"<?xml",
]


@pytest.fixture(scope="module")
def image_cases(portrait_jpeg) -> list[bytes]:
    rng = np.random.default_rng(SEED)
    crafted = [
        _png_bomb(100_000, 100_000),
        _png_bomb(1, 10_000_000),
        _png_bomb(0, 0),
        b"",
        b"\xff\xd8",
        b"GIF89a" + b"\xff" * 20,
        b"RIFF\xff\xff\xff\xffWEBPVP8 ",
        b"BM" + b"\x00" * 60,
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        portrait_jpeg * 2,
        portrait_jpeg[: len(portrait_jpeg) // 2] + portrait_jpeg,
    ]
    return crafted + _mutants(portrait_jpeg, 120 - len(crafted), rng, MAGICS)


@pytest.fixture(scope="module")
def audio_cases() -> list[bytes]:
    rng = np.random.default_rng(SEED + 1)
    t = np.arange(16000) / 16000
    tone = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    base = _wav(tone, 16000)
    crafted = [
        _wav(np.tile(tone[:, None], (1, 8)), 16000),  # 8 channels
        _wav(tone[:100], 1),  # 1 Hz sample rate
        _wav(tone, 192000),
        _wav(tone, 7350),
        _wav(tone[:0], 16000),
        _wav(tone[:10], 16000),
        _wav(np.zeros(16000, np.float32), 16000),
        _wav(tone, 16000, "FLOAT"),
        _wav(tone, 16000, "PCM_24"),
        _wav(tone, 44100, "PCM_16", "FLAC"),
        _wav(tone, 8000, "VORBIS", "OGG"),
        base[:44],
        base[:44] + b"\xff" * 10,
        b"RIFF" + struct.pack("<I", 2**31) + b"WAVEfmt " + b"\x00" * 32,
        _video(10),  # a video without an audio track
    ]
    return crafted + _mutants(base, 100 - len(crafted), rng, MAGICS)


@pytest.fixture(scope="module")
def video_cases() -> list[bytes]:
    rng = np.random.default_rng(SEED + 2)
    base = _video(12)
    crafted = [
        _video(1),
        _video(30, vfr=True),
        _video(5, size=16),
        _wav(np.zeros(8000, np.float32), 8000),
        b"\x00\x00\x00\x08ftyp",
        b"\x00" * 1000,
    ]
    return crafted + _mutants(base, 80 - len(crafted), rng, MAGICS)


def test_three_hundred_hostile_media_files_get_clean_answers(
    api, public_api, image_cases, audio_cases, video_cases, consented_portrait
):
    assert len(image_cases) + len(audio_cases) + len(video_cases) == 300
    portraits_before = Portrait.objects.count()
    answers = {"image": [], "audio": [], "video": []}
    for index, data in enumerate(image_cases):
        response = api.post(
            "/api/portraits/",
            {"image": SimpleUploadedFile(f"f{index}.jpg", data), "subject_name": "X", "subject_email": "x@example.com"},
            format="multipart",
        )
        answers["image"].append(response.status_code)
    for index, data in enumerate(audio_cases):
        response = api.post(
            "/api/renders/",
            {
                "portrait": str(consented_portrait.id),
                "purpose": "marketing",
                "audio": SimpleUploadedFile(f"a{index}.wav", data),
            },
            format="multipart",
        )
        answers["audio"].append(response.status_code)
    for index, data in enumerate(video_cases):
        response = public_api.post(
            "/api/verify/", {"video": SimpleUploadedFile(f"v{index}.mp4", data)}, format="multipart"
        )
        answers["video"].append(response.status_code)

    for kind, codes in answers.items():
        assert all(code < 500 for code in codes), (kind, [(i, c) for i, c in enumerate(codes) if c >= 500])
    assert set(answers["image"]) <= {201, 400, 413}
    assert set(answers["audio"]) <= {202, 400, 413}
    assert set(answers["video"]) <= {200, 400, 413}
    # Only accepted uploads left rows behind; every refused one left nothing.
    assert Portrait.objects.count() - portraits_before == answers["image"].count(201)
    assert Render.objects.count() == answers["audio"].count(202)
    media = settings.MEDIA_ROOT
    stored = {str(path.relative_to(media)) for path in media.rglob("*") if path.is_file()}
    referenced = {portrait.image.name for portrait in Portrait.objects.all()} | {
        render.audio.name for render in Render.objects.all()
    }
    assert stored == referenced, "a refused upload left a file behind"
