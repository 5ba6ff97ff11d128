"""Fetches two (three) photos of one person for the tests: face_recognition 1.3.0's own test images, from its sdist.

The portrait-copy check needs a second, independent photo of the portrait's person (what a real camera capture is
relative to the portrait: other pixels of the same face). face_recognition ships three photos of one person among
its test images; their licence is unclear, so they are fetched at set-up into var/test-photos/ (ignored by git) and
never committed. Idempotent: nothing is downloaded when the photos are already there.

    python -m tests.photos_fetch [--out var/test-photos]
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PHOTOS_DIR = Path(__file__).resolve().parent.parent / "var" / "test-photos"
SDIST = "face_recognition==1.3.0"
SDIST_NAME = "face_recognition-1.3.0.tar.gz"
SDIST_SHA256 = "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec"
# Member in the sdist -> file name here, with its SHA-256 (the same as the faces branch's manifest records).
PHOTOS = {
    "obama.jpg": "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6",
    "obama2.jpg": "a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6",
    "obama3.jpg": "76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3",
}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def photos_present(folder: Path) -> bool:
    return all(
        (folder / name).is_file() and _sha256((folder / name).read_bytes()) == digest for name, digest in PHOTOS.items()
    )


def photos_fetch(folder: Path) -> None:
    """Downloads the sdist with pip, checks it and the photos against their SHA-256, and writes them into folder."""
    if photos_present(folder):
        return
    with tempfile.TemporaryDirectory() as download:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                SDIST,
                "-d",
                download,
            ],
            check=True,
        )
        archive = Path(download) / SDIST_NAME
        if _sha256(archive.read_bytes()) != SDIST_SHA256:
            raise SystemExit(f"{SDIST_NAME}: SHA-256 differs from {SDIST_SHA256}; refusing its photos")
        with tarfile.open(archive) as sdist:
            photos = {}
            for name, digest in PHOTOS.items():
                member = sdist.extractfile(f"face_recognition-1.3.0/tests/test_images/{name}")
                if member is None:
                    raise SystemExit(f"{SDIST_NAME} has no tests/test_images/{name}")
                data = member.read()
                if _sha256(data) != digest:
                    raise SystemExit(f"{name}: SHA-256 differs from {digest}")
                photos[name] = data
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in photos.items():
        (folder / name).write_bytes(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=PHOTOS_DIR)
    photos_fetch(parser.parse_args().out)


if __name__ == "__main__":
    main()
