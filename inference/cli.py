"""`candor-engine`: the engine on its own, for GPU workers and benchmarks (no Django, no consent records).

It measures rendering but writes no video: videos of a face are made only through Candor's
consent-gated pipeline (`manage.py render` or the API), which also labels, watermarks and signs them.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

from . import media, speech
from .animation import animate, frame_count
from .errors import InferenceError
from .rig import portrait_rig
from .warp import engine_warper


def _bench(args: argparse.Namespace) -> None:
    with open(args.image, "rb") as handle:
        image = media.image_decode(handle.read())
    started = time.perf_counter()
    spoken = speech.synthesize(args.text, args.language)
    synthesized = time.perf_counter()
    rig = portrait_rig(image, max_side=args.max_side)
    rigged = time.perf_counter()
    frames = 0
    for _ in animate(
        image,
        spoken.audio,
        spoken.sample_rate,
        fps=args.fps,
        phonemes=list(spoken.phonemes),
        rig=rig,
        max_side=args.max_side,
        device=args.device,
        neural_model=args.neural_model,
    ):
        frames += 1
    animated = time.perf_counter()
    video_seconds = spoken.audio.size / spoken.sample_rate
    assert frames == frame_count(spoken.audio.size, spoken.sample_rate, args.fps)
    print(
        f"machine: {platform.processor() or platform.machine()}, {platform.system()}, "
        f"python {platform.python_version()}"
    )
    print(
        f"video: {video_seconds:.2f} s, {frames} frames at {args.fps} fps, longest side {args.max_side}, "
        f"warped on {engine_warper(args.device).device}"
    )
    print(f"speech synthesis: {synthesized - started:.3f} s")
    print(f"portrait rig (face detection, mesh): {rigged - synthesized:.3f} s")
    print(f"animation: {animated - rigged:.3f} s ({(animated - rigged) / frames * 1000:.2f} ms/frame)")
    print(f"render-only speed: {video_seconds / (animated - rigged):.1f}x real time")


def _languages(args: argparse.Namespace) -> None:
    for code, voice in sorted(speech.languages().items()):
        print(f"{code}\t{voice}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="candor-engine", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser("bench", help="time speech synthesis and animation of a portrait")
    bench.add_argument("--image", required=True, help="portrait photo (JPEG, PNG, WebP)")
    bench.add_argument("--text", default="Hello, and welcome. This is a short message for everyone.")
    bench.add_argument("--language", default="en")
    bench.add_argument("--fps", type=int, default=25)
    bench.add_argument("--max-side", type=int, default=512)
    bench.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda", "torch-cpu"),
        help="where frames are warped (default: CANDOR_ENGINE_DEVICE, else auto)",
    )
    bench.add_argument("--neural-model", help="an ONNX mouth model (see inference/neural.py) to time with the engine")
    bench.set_defaults(run=_bench)
    commands.add_parser("languages", help="list language codes and their voices").set_defaults(run=_languages)
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except (InferenceError, OSError) as error:
        print(f"candor-engine: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
