"""How often the colour-flash check passes on simulated captures: a genuine face against the strength of the screen's
reflection and the camera's noise, and the attacks it is meant to stop.

    .venv/bin/python -m benchmarks.flash [--trials N]

Each trial builds a capture of one of the two test photos (scikit-image's astronaut, matplotlib's Grace Hopper) lit by
a random sequence (tests/clips.py `flash_capture`: 320 px, 15 fps, the head swaying by up to a pixel, Gaussian camera
noise, every frame re-encoded as JPEG at quality 70 with 4:2:0 chroma, as VP8 keeps it) and runs
`consent.flash.flash_response`.
"""

from __future__ import annotations

import argparse
import platform
import random
import time

import cv2
import numpy as np

from consent.flash import FLASH_COLOURS, flash_response, flash_sequence_new

STRENGTHS = (0.0025, 0.005, 0.01, 0.02, 0.05, 0.12, 0.5)
# Camera noise in levels of 255 per pixel: a webcam in a lit room, and with its gain raised in a dim one (around the
# faintest reflections that pass).
NOISES = {2.0: STRENGTHS, 6.0: (0.005, 0.01, 0.02)}


def _trial(
    face: tuple[np.ndarray, np.ndarray], seed: int, *, wrong: bool = False, **capture
) -> tuple[bool, float, float, float]:
    """(passed, face correlation, background share, analysis seconds) for one simulated capture."""
    from tests.clips import flash_capture

    rng = random.Random(seed)
    colours, durations = flash_sequence_new(rng)
    shown = colours
    while wrong and shown == colours:
        # A guess at the colours with the right timing: an answer prepared before the sequence was revealed.
        shown = [rng.choice(FLASH_COLOURS) for _ in colours]
    frames, times, landmarks = flash_capture(*face, colours=shown, durations_ms=durations, seed=seed, **capture)
    started = time.process_time()
    response = flash_response(frames, times, landmarks, colours=colours, durations_ms=durations, start_s=1.0)
    return response.passed, response.face_correlation, response.background_share, time.process_time() - started


def _row(name: str, faces: list[tuple[np.ndarray, np.ndarray]], trials: int, **capture) -> float:
    outcomes = [_trial(faces[seed % 2], seed, **capture) for seed in range(trials)]
    passed = sum(outcome[0] for outcome in outcomes)
    correlations = [outcome[1] for outcome in outcomes]
    shares = [outcome[2] for outcome in outcomes]
    print(
        f"{name:44} {passed:4d}/{trials:<4d} {100 * passed / trials:6.1f}%  "
        f"{min(correlations):6.2f} {np.median(correlations):6.2f} {max(correlations):6.2f}  "
        f"{np.median(shares):6.2f}",
        flush=True,
    )
    return max(outcome[3] for outcome in outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=6, help="captures per row, alternating the two photos")
    arguments = parser.parse_args()
    import skimage.data
    from matplotlib import cbook

    from inference.faces import face_single
    from tests.clips import face_crop

    grace = cv2.cvtColor(cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))), cv2.COLOR_BGR2RGB)
    crops = [face_crop(photo) for photo in (skimage.data.astronaut(), grace)]
    photos = [(crop, face_single(crop).landmarks) for crop in crops]
    print(f"{platform.processor() or platform.machine()}, {platform.python_version()}; {arguments.trials} trials a row")
    print(f"{'capture':44} {'passed':>9} {'rate':>7}  {'face correlation min/median/max':>20}  {'bg share':>8}")
    slowest = 0.0
    for noise, strengths in NOISES.items():
        for strength in strengths:
            slowest = max(
                slowest,
                _row(
                    f"genuine, strength {strength}, noise {noise}",
                    photos,
                    arguments.trials,
                    strength=strength,
                    noise=noise,
                ),
            )
    # A wall close behind the head: half the face's screen light reaches it (1.4 times the face's distance).
    slowest = max(
        slowest,
        _row("genuine, 0.05, wall gets half of it", photos, arguments.trials, strength=0.05, background_share=0.5),
    )
    attacks = {
        "no flash (a replay)": {"strength": 0.0},
        "a guessed sequence, right timing, 0.05": {"strength": 0.05, "wrong": True},
        "whole picture re-lit, strength 0.05": {"strength": 0.05, "lit": "frame"},
        "whole picture tinted (overlay 0.05)": {"strength": 0.05, "lit": "overlay"},
        "late by 1 s, strength 0.05": {"strength": 0.05, "lag_s": 1.0},
    }
    for name, capture in attacks.items():
        slowest = max(slowest, _row(name, photos, arguments.trials, **capture))
    print(f"slowest analysis: {slowest * 1000:.0f} ms of processor time")


if __name__ == "__main__":
    main()
