"""The full pipeline's speed in checkouts of several commits, run interleaved on one machine.

For comparing a commit with an earlier one (issue #17's "within 10% of today's") on a machine whose load changes:
each run is a fresh process in one checkout (a `git worktree`) that loads the models, times the stages alone and then
three `render_run`s of an English text (rig built, then cached twice) with the voice asked for, printing one JSON line
of wall and CPU seconds (the process's, every thread). Runs go checkout by checkout, round after round. It uses only
what benchmarks/speed.py had at the baseline commit (ebe99b8), so that a checkout runs its own code. Usage:

    git worktree add --detach ../baseline ebe99b8
    .venv/bin/python -m benchmarks.speed_commits --rounds 3 ../baseline:espeak .:espeak .:natural
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NATURAL_VOICE = "en-us-joe"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="CHECKOUT:VOICE, VOICE espeak or natural")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of runs (default 1)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the text as espeak reads it")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # internal: one run, in a checkout
    return parser.parse_args()


def _timed(work) -> tuple[object, list[float]]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, [time.perf_counter() - wall, time.process_time() - cpu]


def _child(voice_kind: str, seconds: float) -> None:
    """One run in the current checkout (its own benchmarks.speed helpers and engine)."""
    # The virtual environment's editable install maps modules a checkout lacks to its own tree: only this one counts.
    sys.meta_path[:] = [finder for finder in sys.meta_path if "editable" not in getattr(finder, "__module__", "")]
    sys.path.insert(0, str(Path.cwd()))
    from benchmarks import speed

    figures: dict[str, object] = {"checkout": str(Path.cwd()), "voice": voice_kind}
    with tempfile.TemporaryDirectory(prefix="candor-speed-commits-") as folder:
        speed._django(Path(folder))
        from inference import media, speech
        from inference.animation import animate
        from inference.faces import face_single
        from inference.rig import portrait_rig
        from provenance import watermark
        from provenance.label import frame_label

        espeak = next(voice for voice in speech.voices("en") if voice != NATURAL_VOICE)
        voice = espeak if voice_kind == "espeak" else NATURAL_VOICE
        once = speech.synthesize(speed.SENTENCE, "en", voice=espeak)
        text = speed.SENTENCE * max(1, round(seconds / (once.audio.size / once.sample_rate)))
        portrait = media.image_decode(speed._portrait_jpeg(512))
        _, figures["load"] = _timed(lambda: (face_single(portrait), speech.synthesize("Hello.", "en", voice=voice)))
        spoken, figures["synthesis"] = _timed(lambda: speech.synthesize(text, "en", voice=voice))
        rig, figures["rig"] = _timed(lambda: portrait_rig(portrait, max_side=512))
        frames, figures["animation"] = _timed(
            lambda: list(animate(portrait, spoken.audio, spoken.sample_rate, phonemes=list(spoken.phonemes), rig=rig))
        )
        marker = watermark.FrameWatermarker(1, b"speed-benchmark-key-of-32-bytes!")
        marked, figures["label_watermark"] = _timed(lambda: [marker.mark(frame_label(frame)) for frame in frames])
        with tempfile.TemporaryDirectory() as videos:
            _, figures["encode"] = _timed(
                lambda: media.mp4_write(Path(videos) / "c.mp4", marked, spoken.audio, spoken.sample_rate)
            )
        creator, portrait_row = speed._consented_portrait(512)
        from studio.models import Render
        from studio.services import render_enqueue, render_run

        for label in ("rig_built", "rig_cached", "rig_cached_again"):
            render = render_enqueue(
                owner=creator,
                portrait=portrait_row,
                purpose="marketing",
                text=text,
                language="en",
                voice=voice,
                dispatch=False,
            )
            done, figures[label] = _timed(lambda render=render: render_run(render_id=render.id))
            if done.status != Render.Status.DONE:
                raise SystemExit(f"render failed: {done.status} {done.error}")
            figures["video_s"] = done.duration_s
    print(json.dumps(figures))


def main() -> None:
    args = _arguments()
    if args.child:
        _child(args.runs[0], args.seconds)
        return
    here = Path(__file__).resolve().parent.parent
    results: dict[str, list[dict]] = {}
    for _ in range(args.rounds):
        for run in args.runs:
            checkout, voice_kind = run.rsplit(":", 1)
            child = subprocess.run(
                [
                    sys.executable,
                    str(here / "benchmarks" / "speed_commits.py"),
                    "--child",
                    voice_kind,
                    "--seconds",
                    str(args.seconds),
                ],
                cwd=checkout,
                capture_output=True,
                text=True,
                check=False,
            )
            if child.returncode != 0:
                raise SystemExit(f"the run {run} failed:\n{child.stderr[-3000:]}")
            figures = json.loads(child.stdout.strip().splitlines()[-1])
            print(json.dumps(figures), flush=True)
            results.setdefault(run, []).append(figures)
    print("\nCPU seconds of render_run with the rig cached (every run), median, per second of video:")
    for run, runs in results.items():
        cpu = [figures[label][1] for figures in runs for label in ("rig_cached", "rig_cached_again")]
        median = statistics.median(cpu)
        print(f"  {run}: {' '.join(f'{s:.1f}' for s in cpu)}; median {median:.1f} s, {median / runs[0]['video_s']:.3f}")


if __name__ == "__main__":
    main()
