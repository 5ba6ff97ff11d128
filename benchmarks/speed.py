"""Speed of the render pipeline against real time, stage by stage, on the machine it runs on.

Every figure is a ratio: seconds of video per second of compute (above 1 is
faster than real time), from wall time; the process's CPU time (every thread:
animation, encoder, onnxruntime) is printed beside it, as it varies less on a
shared machine. It measures, for an English text clip of --seconds at 512 px
(its length as espeak reads it):

- one-time model loading (face detector and landmarks, espeak-ng, the natural voice);
- each stage on its own (speech synthesis, portrait rig, animation + warp,
  label + watermark, H.264 + AAC encode, C2PA signing) and its share, with
  espeak's reading; the natural voice's reading of the same text beside it;
- the limit: the same number of frames of the still portrait encoded with no animation;
- the full pipeline as a render worker runs it (`studio.services.render_run`):
  espeak with a fresh rig, espeak with the rig cached, and the default English
  voice (the natural one) with the rig cached, with time to first progress and
  the longest gap between progress reports;
- the same at 1080 px;
- a --long-minutes clip (uploaded audio) in a child process, with its peak memory.

It runs Candor's own pipeline on a throwaway data directory; consent is granted
through the ORM there (the consent flow has its own tests). Usage:

    .venv/bin/python benchmarks/speed.py [--seconds 30] [--long-minutes 10] [--skip-long]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from benchmarks.machine import machine_describe

REPO = Path(__file__).resolve().parent.parent
SENTENCE = (
    "Welcome to our spring collection. Every piece is made by hand, from materials we choose with care, "
    "and shipped to you within two days. "
)
TARGET_PIPELINE = 4.0
TARGET_RENDER_ONLY = 15.0
TARGET_1080 = 1.0
TARGET_FIRST_PROGRESS_S = 1.0
TARGET_PROGRESS_GAP_S = 1.0
TARGET_PEAK_GIB = 1.5


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the text clip (default 30)")
    parser.add_argument("--long-minutes", type=float, default=10.0, help="length of the long clip (default 10)")
    parser.add_argument("--skip-long", action="store_true", help="skip the long clip")
    parser.add_argument("--skip-1080", action="store_true", help="skip the 1080 px run")
    parser.add_argument("--long-child", help=argparse.SUPPRESS)  # internal: run the long clip in this process
    return parser.parse_args()


def _gpu() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def _django(data_dir: Path, max_side: int = 512) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        CANDOR_DATA_DIR=str(data_dir),
        LOG_LEVEL="WARNING",
        CANDOR_RENDER_MAX_SIDE=str(max_side),
    )
    sys.path.insert(0, str(REPO))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _portrait_jpeg(side: int) -> bytes:
    import cv2
    from skimage import data

    image = data.astronaut()
    if side > max(image.shape[:2]):
        image = cv2.resize(image, (side, side), interpolation=cv2.INTER_CUBIC)
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return encoded.tobytes()


def _consented_portrait(side: int):
    """A creator's portrait with consent granted through the ORM (see the module docstring)."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from consent.models import Consent
    from consent.services import consent_request_create
    from studio.services import portrait_create

    creator, _ = get_user_model().objects.get_or_create(username="bench", defaults={"email": "bench@candor.localhost"})
    portrait = portrait_create(
        owner=creator,
        image=SimpleUploadedFile("p.jpg", _portrait_jpeg(side), content_type="image/jpeg"),
        subject_name="Eileen Collins",
        subject_email="eileen@example.com",
    )
    consent = consent_request_create(portrait=portrait, requested_by=creator)
    Consent.objects.filter(id=consent.id).update(
        status=Consent.Status.ACTIVE,
        purposes=consent.requested_purposes,
        languages=["any"],
        expires_at=timezone.now() + timedelta(days=1),
        decided_at=timezone.now(),
        full_name="Eileen Collins",
    )
    return creator, portrait


class _ProgressClock:
    """Records when a render reports progress, to find its first report and its longest silence."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.reports: list[float] = []

    def __call__(self, progress: float) -> None:
        self.reports.append(time.perf_counter())

    def first_s(self) -> float:
        return self.reports[0] - self.started if self.reports else float("inf")

    def longest_gap_s(self, finished: float) -> float:
        moments = [self.started, *self.reports, finished]
        return max(b - a for a, b in zip(moments, moments[1:], strict=False))


def _render(
    creator, portrait, *, text: str = "", language: str = "en", voice: str = "", audio=None
) -> tuple[float, float, _ProgressClock, float]:
    """(seconds of video, seconds of compute, progress clock, seconds of CPU) of one real render_run."""
    from studio.models import Render
    from studio.services import render_enqueue, render_run

    render = render_enqueue(
        owner=creator,
        portrait=portrait,
        purpose="marketing",
        text=text,
        language=language,
        voice=voice,
        audio=audio,
        dispatch=False,
    )
    cpu = time.process_time()
    clock = _ProgressClock()
    done = render_run(render_id=render.id, on_progress=clock)
    finished = time.perf_counter()
    if done.status != Render.Status.DONE:
        raise SystemExit(f"render failed: {done.status} {done.error}")
    return done.duration_s, finished - clock.started, clock, time.process_time() - cpu


def _text_of(seconds: float, language: str = "en") -> tuple[str, float]:
    """A text whose speech as espeak reads it lasts about `seconds`, and that length (the same text as before the
    natural voice became English's default, so that figures compare)."""
    from inference import speech

    once = speech.synthesize(SENTENCE, language, voice=speech.espeak_voice(language))
    repeats = max(1, round(seconds / (once.audio.size / once.sample_rate)))
    return SENTENCE * repeats, repeats * once.audio.size / once.sample_rate


def _line(label: str, video_s: float, compute_s: float, target: float | None = None, cpu_s: float | None = None) -> str:
    ratio = video_s / compute_s if compute_s > 0 else float("inf")
    verdict = "" if target is None else f"  (target >= {target:g}x: {'met' if ratio >= target else 'NOT met'})"
    cpu = "" if cpu_s is None else f"  CPU {cpu_s:7.3f} s"
    return f"{label:<52} {compute_s:8.3f} s  {ratio:7.1f}x real time{cpu}{verdict}"


class _Stopwatch:
    """Wall and CPU seconds (this process, every thread) since it was made."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def _stages(seconds: float) -> None:
    """Each stage alone over the same clip, to show where the time goes."""
    from inference import media, speech
    from inference.animation import animate
    from inference.faces import face_single
    from inference.rig import portrait_rig
    from provenance import c2pa_manifest, keys, watermark
    from provenance.label import frame_label
    from provenance.signer import local_signer

    portrait = media.image_decode(_portrait_jpeg(512))
    espeak = speech.espeak_voice("en")
    for label, load in (
        (
            "one-time model loading (dlib, espeak-ng)",
            lambda: (face_single(portrait), speech.synthesize("Hi.", "en", voice=espeak)),
        ),
        ("one-time loading of the natural voice", lambda: speech.synthesize("Hello.", "en")),
    ):
        watch = _Stopwatch()
        load()
        wall_s, cpu_s = watch.read()
        print(f"{label:<52} {wall_s:8.3f} s  CPU {cpu_s:7.3f} s")

    text, _ = _text_of(seconds)
    timings: dict[str, tuple[float, float]] = {}
    watch = _Stopwatch()
    spoken = speech.synthesize(text, "en", voice=espeak)
    timings["speech synthesis (espeak)"] = watch.read()
    video_s = spoken.audio.size / spoken.sample_rate
    watch = _Stopwatch()
    natural = speech.synthesize(text, "en")
    natural_s = watch.read()
    natural_video_s = natural.audio.size / natural.sample_rate
    watch = _Stopwatch()
    rig = portrait_rig(portrait, max_side=512)
    timings["portrait rig (face, mesh; cached per portrait)"] = watch.read()
    watch = _Stopwatch()
    frames = list(animate(portrait, spoken.audio, spoken.sample_rate, phonemes=list(spoken.phonemes), rig=rig))
    timings["animation + warp (render only)"] = watch.read()
    marker = watermark.FrameWatermarker(1, b"speed-benchmark-key-of-32-bytes!")
    watch = _Stopwatch()
    marked = [marker.mark(frame_label(frame)) for frame in frames]
    timings["label + watermark"] = watch.read()
    with tempfile.TemporaryDirectory() as folder:
        video = Path(folder) / "clip.mp4"
        watch = _Stopwatch()
        media.mp4_write(video, marked, spoken.audio, spoken.sample_rate)
        timings["H.264 + AAC encode"] = watch.read()
        material = keys.signing_material_load_or_create(Path(folder) / "keys")
        watch = _Stopwatch()
        c2pa_manifest.mp4_sign(
            source=video,
            destination=Path(folder) / "signed.mp4",
            signer=local_signer(material),
            trust_anchor_pem=material.root_certificate_pem,
            render_id="benchmark",
            title="benchmark",
            generator_version="benchmark",
            consent_summary={},
        )
        timings["C2PA signing"] = watch.read()
        still = rig.image
        watch = _Stopwatch()
        media.mp4_write(Path(folder) / "still.mp4", (still for _ in frames), spoken.audio, spoken.sample_rate)
        limit_s = watch.read()
    total = sum(wall_s for wall_s, _ in timings.values())
    total_cpu = sum(cpu_s for _, cpu_s in timings.values())
    print(f"\nstages alone, {video_s:.1f} s of video ({len(frames)} frames, 512 px), one after another:")
    for name, (wall_s, cpu_s) in timings.items():
        print(
            _line(f"  {name}", video_s, wall_s, cpu_s=cpu_s)
            + f"  {wall_s / total:6.1%} of the stages' wall time, {cpu_s / total_cpu:6.1%} of their CPU"
        )
    print(_line("  sum of the stages", video_s, total, cpu_s=total_cpu))
    print(_line("  render only", video_s, timings["animation + warp (render only)"][0], TARGET_RENDER_ONLY))
    print(_line("  limit: still frames copied + encoded", video_s, limit_s[0], cpu_s=limit_s[1]))
    print(
        _line(
            f"  the natural voice reading the same text ({natural_video_s:.1f} s)",
            natural_video_s,
            natural_s[0],
            cpu_s=natural_s[1],
        )
    )


def _gpu_stages(seconds: float) -> None:
    """Render only on the CUDA path beside the CPU path, and the CUDA warp's agreement with it."""
    from inference import media, speech
    from inference.animation import animate
    from inference.rig import portrait_rig

    portrait = media.image_decode(_portrait_jpeg(512))
    text, _ = _text_of(seconds)
    spoken = speech.synthesize(text, "en")
    video_s = spoken.audio.size / spoken.sample_rate
    rig = portrait_rig(portrait, max_side=512)
    print(f"\nrender only (animation + warp), CPU beside GPU, {video_s:.1f} s of video, 512 px:")
    rendered = {}
    for device in ("cpu", "cuda"):
        list(
            animate(portrait, spoken.audio[: spoken.sample_rate], spoken.sample_rate, rig=rig, device=device)
        )  # warm-up
        clock = time.perf_counter()
        rendered[device] = list(
            animate(portrait, spoken.audio, spoken.sample_rate, phonemes=list(spoken.phonemes), rig=rig, device=device)
        )
        print(_line(f"  {device}", video_s, time.perf_counter() - clock, TARGET_RENDER_ONLY))
    difference = max(
        float(np.abs(a.astype(np.int16) - b).max()) for a, b in zip(rendered["cpu"], rendered["cuda"], strict=False)
    )
    print(f"  largest difference between the two paths: {difference:.0f} grey levels")


def _pipeline(seconds: float, data_dir: Path) -> None:
    creator, portrait = _consented_portrait(512)
    text, _ = _text_of(seconds)
    from inference.warp import engine_warper

    print(
        f"\nfull pipeline (render_run: synthesis, rig, animation, label, watermark, encode, captions, C2PA), 512 px, "
        f"frames warped on {engine_warper().device}:"
    )
    from inference import speech

    espeak = speech.espeak_voice("en")
    for label, voice in (
        ("first render (rig built), espeak", espeak),
        ("again (rig cached), espeak", espeak),
        ("again (rig cached), default voice (natural)", ""),
    ):
        video_s, compute_s, clock, cpu_s = _render(creator, portrait, text=text, language="en", voice=voice)
        print(_line(f"  {label}, {video_s:.1f} s", video_s, compute_s, TARGET_PIPELINE, cpu_s=cpu_s))
        print(
            f"    first progress after {clock.first_s():.3f} s (target < {TARGET_FIRST_PROGRESS_S:g} s); "
            f"longest gap between reports {clock.longest_gap_s(clock.started + compute_s):.3f} s "
            f"(target <= {TARGET_PROGRESS_GAP_S:g} s)"
        )


def _pipeline_1080(seconds: float) -> None:
    from django.conf import settings

    from inference import speech

    settings.CANDOR_RENDER_MAX_SIDE = 1080
    creator, portrait = _consented_portrait(1080)
    text, _ = _text_of(seconds)
    print("\nfull pipeline at 1080 px (portrait upscaled to 1080), espeak:")
    for label in ("first render (rig built)", "again (rig cached)"):
        video_s, compute_s, _, cpu_s = _render(creator, portrait, text=text, voice=speech.espeak_voice("en"))
        print(_line(f"  {label}, {video_s:.1f} s", video_s, compute_s, TARGET_1080, cpu_s=cpu_s))
    settings.CANDOR_RENDER_MAX_SIDE = 512


def _wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def _peak_resident_kib() -> int:
    """This process's peak resident memory (VmHWM: unlike getrusage's ru_maxrss it does not carry the parent's peak
    across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _long_child(wav_path: str) -> None:
    """In a child process (a render worker's memory, nothing else): render the WAV and print its figures as JSON."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    creator, portrait = _consented_portrait(512)
    upload = SimpleUploadedFile("long.wav", Path(wav_path).read_bytes(), content_type="audio/wav")
    baseline_kib = _peak_resident_kib()
    video_s, compute_s, clock, _ = _render(creator, portrait, audio=upload)
    peak_kib = _peak_resident_kib()
    print(
        json.dumps(
            {
                "video_s": video_s,
                "compute_s": compute_s,
                "baseline_mib": baseline_kib / 1024,
                "peak_mib": peak_kib / 1024,
                "gap_s": clock.longest_gap_s(clock.started + compute_s),
            }
        )
    )


def _long(minutes: float) -> None:
    from inference import speech

    print(f"\nlong clip: {minutes:g} min of uploaded speech (WAV), 512 px, in a child process:")
    spoken = speech.synthesize(SENTENCE * 4, "en")
    samples = int(minutes * 60 * spoken.sample_rate)
    audio = np.tile(spoken.audio, int(np.ceil(samples / spoken.audio.size)))[:samples]
    with tempfile.NamedTemporaryFile(suffix=".wav") as wav:
        wav.write(_wav_bytes(audio, spoken.sample_rate))
        wav.flush()
        del audio
        child = subprocess.run([sys.executable, __file__, "--long-child", wav.name], capture_output=True, text=True)
    if child.returncode != 0:
        raise SystemExit(f"the long render failed:\n{child.stderr[-3000:]}")
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    print(_line(f"  {figures['video_s'] / 60:.1f} min", figures["video_s"], figures["compute_s"]))
    peak_gib = figures["peak_mib"] / 1024
    print(
        f"    peak memory of the render process {figures['peak_mib']:.0f} MiB ({figures['baseline_mib']:.0f} MiB "
        "before "
        f"the render, with Django, the models and the uploaded WAV); target < {TARGET_PEAK_GIB:g} GiB: "
        f"{'met' if peak_gib < TARGET_PEAK_GIB else 'NOT met'}"
    )
    print(f"    longest gap between progress reports {figures['gap_s']:.3f} s (target <= {TARGET_PROGRESS_GAP_S:g} s)")


def main() -> None:
    args = _arguments()
    with tempfile.TemporaryDirectory(prefix="candor-speed-") as folder:
        _django(Path(folder))
        if args.long_child:
            _long_child(args.long_child)
            return
        print(f"machine: {machine_describe()}")
        gpu = _gpu()
        print(f"GPU: {gpu}" if gpu else "GPU: not measured (no CUDA device on this machine)")
        _stages(args.seconds)
        if gpu:
            _gpu_stages(args.seconds)
        _pipeline(args.seconds, Path(folder))
        if not args.skip_1080:
            _pipeline_1080(args.seconds)
        if not args.skip_long:
            _long(args.long_minutes)


if __name__ == "__main__":
    main()
