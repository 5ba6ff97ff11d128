"""What one live capture costs the server to check: processor time (the web process and the analysis child) and peak
memory, for a genuine answer and for files built to be expensive.

    DJANGO_SETTINGS_MODULE=config.settings_test .venv/bin/python -m benchmarks.capture_cost [--full]

--full adds the longest and largest videos the limits accept (15 s at 1080p and 60 fps).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time
from multiprocessing.connection import Connection

import django


def _cpu_s() -> float:
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS:")).split()[1]) / 1024


def _measure(capture: bytes, turns: list[str], sender: Connection) -> None:
    """One capture checked in a fresh process, so that its peak memory is its own."""
    from consent.services.capture import capture_check
    from core.errors import ApplicationError

    cpu, wall, rss = _cpu_s(), time.monotonic(), _rss_mb()
    try:
        capture_check(capture=capture, challenge={"turns": turns})
        outcome = "passed"
    except ApplicationError as refusal:
        outcome = refusal.code
    # The analysis child's peak, less what it shares with this process (it starts as a copy of it).
    peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 - rss, 0)
    sender.send(
        f"{len(capture) / 1024:6.0f} {_cpu_s() - cpu:6.2f} {time.monotonic() - wall:6.2f} {peak:6.0f}  {outcome}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="also the largest videos the limits accept")
    arguments = parser.parse_args()
    django.setup()

    from skimage import data

    from inference import faces
    from tests.clips import as_browser_webm, liveness_clip
    from tests.consent.test_capture_cost import decode_bomb

    photo = data.astronaut()
    faces.models_load()
    turns = ["left", "up"]
    live = liveness_clip(photo, turns=turns)
    cases = {
        "live answer, 3.4 s 320 px MP4": live,
        "live answer as a browser's WebM": as_browser_webm(live),
        "decode bomb: 2 s of black 4K": decode_bomb(),
        "black 1080p, 14 s at 30 fps, hiss": decode_bomb(width=1920, height=1080, seconds=14, fps=30),
    }
    if arguments.full:
        cases["black 1080p, 14 s at 60 fps, hiss"] = decode_bomb(width=1920, height=1080, seconds=14, fps=60)
        cases["live answer, 14 s 320 px"] = liveness_clip(photo, turns=turns, seconds=14.0)
    print(f"{'capture':40} {'KB':>6} {'CPU s':>6} {'wall s':>6} {'+MB':>6}  outcome")
    context = multiprocessing.get_context("fork")
    for name, capture in cases.items():
        receiver, sender = context.Pipe(duplex=False)
        measuring = context.Process(target=_measure, args=(capture, turns, sender))
        measuring.start()
        print(f"{name:40} {receiver.recv()}", flush=True)
        measuring.join()


if __name__ == "__main__":
    main()
