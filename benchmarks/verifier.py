"""Measure the verifier's content check on real renders: genuine copies after the transformations the watermark
survives must stay `candor_generated`; the watermark on other content (other words, other or shifted sound, another
render's mouth) must read `content_mismatch`; unmarked clips `not_recognized`.

Each case renders one portrait (scikit-image's astronaut or Grace Hopper) saying one text and another text, marks the
first as the pipeline does (watermark, fingerprint and tracks from the published frames and sound), writes the files
below as real MP4s and runs the verifier's own `video_verify` on each, with an in-memory directory of renders.

Run: .venv/bin/python benchmarks/verifier.py              (8 cases, about 2 minutes on 2 cores)
     .venv/bin/python benchmarks/verifier.py --cases 50   (the full run)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CANDOR_DATA_DIR", tempfile.mkdtemp(prefix="candor-verifier-benchmark-"))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from benchmarks.reference_faces import portraits  # noqa: E402
from benchmarks.video_transforms import (  # noqa: E402
    center_crop,
    frame_rate_changed,
    levels,
    resized,
    sound_shifted,
    video_write,
)
from consent.models import Consent  # noqa: E402
from inference import media, speech  # noqa: E402
from inference.animation import animate  # noqa: E402
from provenance import content_tracks, keys, watermark  # noqa: E402
from provenance.content_tracks import render_tracker, sound_fingerprint  # noqa: E402
from provenance.fingerprint import MATCH_THRESHOLD, content_fingerprint, frame_luma  # noqa: E402
from studio.models import Portrait  # noqa: E402
from verifier.directory import RenderRecord, directory_register  # noqa: E402
from verifier.services import video_verify  # noqa: E402

FPS = 25
# Long enough for a 3 s excerpt from 2 s; varied so that every pair of renders says different things.
TEXTS = (
    "Hello, and thank you for watching. This short message was made with Candor, and I agreed to it.",
    "Please remember that the team meeting moved to Thursday afternoon, right after lunch in the big room.",
    "Our new opening hours start next Monday: we open at eight and close at six, every day but Sunday.",
    "I wanted to say congratulations on your graduation; everyone here is very proud of what you achieved.",
    "The museum tour begins at the north entrance. Please keep your ticket with you until the very end.",
    "Welcome to the course. Today we will look at how rivers shape valleys over thousands of years.",
    "Thank you all for coming tonight. The raffle results will be announced after the second song.",
    "If you have questions about your order, write to us any time and we will answer within a day.",
    "Good morning! The weather today is mild and dry, with a light breeze from the west after noon.",
    "This season we planted apple trees along the path, and the first harvest should come next year.",
    "Remember to stretch before you run, drink plenty of water, and rest well the night before a race.",
    "The library will be closed for repairs during the holidays, so please return your books early.",
)


@dataclass
class Rendered:
    frames: list[np.ndarray]
    audio: np.ndarray  # mono float32 at media.AUDIO_SAMPLE_RATE


class BenchmarkDirectory:
    """The renders this run made, as the verifier's directory (studio's needs a database)."""

    def __init__(self) -> None:
        self.by_serial: dict[int, RenderRecord] = {}

    def render_by_id(self, render_id):
        return next((record for record in self.by_serial.values() if record.id == render_id), None)

    def render_by_watermark_serial(self, serial: int):
        return self.by_serial.get(serial)

    def render_by_share_token(self, token: str):
        raise LookupError("no share links in the benchmark")


def render(image: np.ndarray, text: str, *, seed: int) -> Rendered:
    spoken = speech.synthesize(text, "en")
    frames = list(animate(image, spoken.audio, spoken.sample_rate, fps=FPS, phonemes=list(spoken.phonemes), seed=seed))
    return Rendered(frames, media.audio_resample(spoken.audio, spoken.sample_rate, media.AUDIO_SAMPLE_RATE))


def publish(rendered: Rendered, *, serial: int, key: bytes, registry: BenchmarkDirectory) -> Rendered:
    """Mark the frames and record the render (fingerprint and tracks) as provenance_frames does."""
    marker = watermark.FrameWatermarker(serial, key)
    marked = [marker.mark(frame) for frame in rendered.frames]
    tracker = render_tracker(marked[0], fps=FPS)
    for frame in marked:
        tracker.add(frame_luma(frame))
    registry.by_serial[serial] = RenderRecord(
        id=uuid.uuid4(),
        created_at=datetime.now(UTC),
        consent=_ACTIVE_CONSENT,
        fingerprint=content_fingerprint(np.mean([frame_luma(frame) for frame in marked], axis=0)),
        video=None,
        tracks=tracker.tracks(audio_words=sound_fingerprint((rendered.audio, media.AUDIO_SAMPLE_RATE))),
    )
    return Rendered(marked, rendered.audio)


# An unsaved active consent of an unsaved portrait: what the report reads of a consent, without a database.
_ACTIVE_CONSENT = Consent(status=Consent.Status.ACTIVE, portrait=Portrait())


def mouth_pasted(target: list[np.ndarray], donor: list[np.ndarray], box) -> list[np.ndarray]:
    """The target's frames with the donor's mouth box (grown by a quarter, feathered edges) pasted in, frame by
    frame."""
    x, y, w, h = box
    grow_x, grow_y = w // 4, h // 4
    x0, y0, x1, y1 = x - grow_x, y - grow_y, x + w + grow_x, y + h + grow_y
    ramp_y = np.minimum(np.arange(y1 - y0), np.arange(y1 - y0)[::-1]) / max(1, grow_y)
    ramp_x = np.minimum(np.arange(x1 - x0), np.arange(x1 - x0)[::-1]) / max(1, grow_x)
    alpha = np.clip(np.minimum(ramp_y[:, None], ramp_x[None, :]), 0, 1)[..., None]
    pasted = []
    for index, frame in enumerate(target):
        out = frame.copy()
        source = donor[min(index, len(donor) - 1)]
        region = alpha * source[y0:y1, x0:x1] + (1 - alpha) * frame[y0:y1, x0:x1]
        out[y0:y1, x0:x1] = np.clip(np.rint(region), 0, 255).astype(np.uint8)
        pasted.append(out)
    return pasted


GENUINE = {
    "CRF 35 + downscale 50%": lambda f, a: (resized(f, 0.5), a, FPS, 35),
    "center crop 80% area": lambda f, a: (center_crop(f, 0.8), a, FPS, 23),
    "brightness +20%": lambda f, a: (levels(f, offset=0.2 * 128), a, FPS, 23),
    "brightness -20%": lambda f, a: (levels(f, offset=-0.2 * 128), a, FPS, 23),
    "25 -> 30 fps": lambda f, a: (frame_rate_changed(f), a, 30, 23),
    "3 s excerpt from 2 s": lambda f, a: (
        f[2 * FPS : 5 * FPS],
        a[2 * media.AUDIO_SAMPLE_RATE : 5 * media.AUDIO_SAMPLE_RATE],
        FPS,
        23,
    ),
}
EXPECTED = {
    **dict.fromkeys(GENUINE, "candor_generated"),
    "watermark on other words": "content_mismatch",
    "other sound": "content_mismatch",
    "sound 0.5 s late": "content_mismatch",
    "another render's mouth pasted": "content_mismatch",
    "unmarked render": "not_recognized",
}


def run(cases: int, workdir: Path, *, table_every: int) -> dict[str, list[dict]]:
    images = portraits()
    names = sorted(images)
    key = keys.secret_load_or_create(settings.KEYS_DIR, "watermark")
    registry = BenchmarkDirectory()
    directory_register(registry)
    results: dict[str, list[dict]] = defaultdict(list)
    for case in range(cases):
        name = names[case % len(names)]
        text_a = TEXTS[case % len(TEXTS)]
        text_b = TEXTS[(case + 1 + case // len(TEXTS)) % len(TEXTS)]
        serial = 1_000 + case
        original = render(images[name], text_a, seed=case)
        other = render(images[name], text_b, seed=case + 500)
        published = publish(original, serial=serial, key=key, registry=registry)
        marker = watermark.FrameWatermarker(serial, key)
        rate = media.AUDIO_SAMPLE_RATE
        files = {}
        for label, transform in GENUINE.items():
            frames, audio, fps, crf = transform(published.frames, published.audio)
            files[label] = (frames, audio, fps, crf)
        files["watermark on other words"] = ([marker.mark(frame) for frame in other.frames], other.audio, FPS, 23)
        files["other sound"] = (published.frames, other.audio, FPS, 23)
        files["sound 0.5 s late"] = (
            published.frames,
            sound_shifted(published.audio, sample_rate=rate, seconds=0.5),
            FPS,
            23,
        )
        mouth_box = registry.by_serial[serial].tracks.mouth_box
        files["another render's mouth pasted"] = (
            mouth_pasted(published.frames, other.frames, mouth_box),
            published.audio,
            FPS,
            23,
        )
        files["unmarked render"] = (other.frames, other.audio, FPS, 23)
        for label, (frames, audio, fps, crf) in files.items():
            # x264's default preset, as most re-encoders use it.
            path = video_write(workdir / f"case-{case}.mp4", frames, audio, rate, fps=fps, crf=crf, preset="medium")
            started = time.perf_counter()
            report = video_verify(path=path)
            seconds = time.perf_counter() - started
            content = report.content or {}
            results[label].append(
                {
                    "portrait": name,
                    "verdict": report.verdict,
                    "distances": content.get("distances", {}),
                    "mismatched": content.get("mismatched", []),
                    "similarity": report.watermark["content_similarity"],
                    "sync_gap": content.get("sync_gap"),
                    "seconds": seconds,
                }
            )
        print(f"case {case + 1}/{cases} done ({name})", file=sys.stderr, flush=True)
        if table_every and (case + 1) % table_every == 0 and case + 1 < cases:
            print(f"\n-- after {case + 1} cases", flush=True)
            table(results)
    return results


def _range(values: list[float]) -> str:
    return f"{min(values):.3f}-{max(values):.3f}" if values else "-"


def table(results: dict[str, list[dict]]) -> None:
    print(
        f"\n{'case':32} {'n':>3} {'expected':>17} {'as expected':>11} {'picture':>12} {'mouth':>12} {'audio':>12} "
        f"{'coarse':>12} {'sync gap':>12} {'named':>22} {'s mean/max':>11}  other verdicts"
    )
    false_generated = lost = 0
    for label, rows in results.items():
        expected = EXPECTED[label]
        right = sum(row["verdict"] == expected for row in rows)
        if expected == "candor_generated":
            lost += len(rows) - right
        else:
            false_generated += sum(row["verdict"] == "candor_generated" for row in rows)
        distances = {
            track: [row["distances"][track] for row in rows if row["distances"].get(track) is not None]
            for track in content_tracks.TRACKS
        }
        similarity = [row["similarity"] for row in rows if row["similarity"] is not None]
        sync_gap = [row["sync_gap"] for row in rows if row["sync_gap"] is not None]
        named: dict[str, int] = defaultdict(int)
        for row in rows:
            for track in row["mismatched"]:
                named[track] += 1
        named_tracks = ", ".join(f"{track} {count}" for track, count in sorted(named.items())) or "-"
        seconds = [row["seconds"] for row in rows]
        verdicts: dict[str, int] = defaultdict(int)
        for row in rows:
            verdicts[row["verdict"]] += 1
        print(
            f"{label:32} {len(rows):>3} {expected:>17} {right:>5}/{len(rows):<5} "
            f"{_range(distances['picture']):>12} {_range(distances['mouth']):>12} {_range(distances['audio']):>12} "
            f"{_range(similarity):>12} {_range(sync_gap):>12} {named_tracks:>22} "
            f"{np.mean(seconds):5.2f}/{max(seconds):4.2f}  "
            + ", ".join(f"{verdict} {count}" for verdict, count in sorted(verdicts.items()) if verdict != expected)
        )
    print(
        f"\nfalse candor_generated: {false_generated}; genuine renders lost: {lost}. Thresholds: picture <= "
        f"{content_tracks.FACE_MATCH_DISTANCE}, mouth <= {content_tracks.MOUTH_MATCH_DISTANCE}, audio <= "
        f"{content_tracks.AUDIO_MATCH_DISTANCE} (mean Hamming share at the aligned offset); sound out of step when the "
        f"picture fits elsewhere better by > {content_tracks.PICTURE_SYNC_MARGIN}; coarse picture >= {MATCH_THRESHOLD}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=8, help="renders per case kind (50 for the full run)")
    parser.add_argument("--table-every", type=int, default=10, help="also print the table after every N cases")
    arguments = parser.parse_args()
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        flush=True,
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        results = run(arguments.cases, Path(workdir), table_every=arguments.table_every)
    print(f"\n{arguments.cases} cases in {time.perf_counter() - started:.0f} s")
    table(results)


if __name__ == "__main__":
    main()
