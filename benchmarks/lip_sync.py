"""The liveness lip sync measured on the tests' kind of clip (`tests/clips.py`: a photo warped to turn its head and
move its jaw with espeak reading the digits): every turn order on each face, a dubbed clip (the mouth follows other
speech), and random challenges (turns and digits) as a browser's WebM, with their correlations and failures.

    DJANGO_SETTINGS_MODULE=config.settings_test .venv/bin/python -m benchmarks.lip_sync [--random 24] [--seed 7]

Needs var/test-photos (`make test-photos`).
"""

from __future__ import annotations

import argparse
import itertools
import random

import django
import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--random", type=int, default=24, help="random challenges read from obama2.jpg (default 24)")
    parser.add_argument("--seed", type=int, default=7, help="the random challenges' seed (default 7)")
    arguments = parser.parse_args()
    django.setup()

    import cv2
    import matplotlib.cbook
    from skimage import data

    from consent import liveness
    from inference import faces
    from tests.clips import as_browser_webm, liveness_clip
    from tests.photos_fetch import PHOTOS_DIR

    faces.models_load()
    hopper = cv2.imread(str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    photos = {
        "astronaut": data.astronaut(),
        "hopper": cv2.cvtColor(hopper, cv2.COLOR_BGR2RGB),
        "obama2": cv2.cvtColor(cv2.imread(str(PHOTOS_DIR / "obama2.jpg")), cv2.COLOR_BGR2RGB),
    }
    orders = [list(order) for order in itertools.permutations(["left", "right", "up", "down"], 2)]

    def judged(clip: bytes, turns: list[str]) -> liveness.Liveness:
        return liveness.clip_liveness(liveness.clip_decode(clip), turns=turns)

    print(f"{'clips':44} {'lip sync':>16} {'median':>7}  failures")
    for name, photo in photos.items():
        results = [judged(liveness_clip(photo, turns=turns), turns) for turns in orders]
        syncs = [result.lip_sync for result in results]
        failed = [f"{'-'.join(turns)}: {r.failure}" for turns, r in zip(orders, results, strict=True) if r.failure]
        print(f"{name + ', 12 turn orders':44} {min(syncs):7.2f}-{max(syncs):<8.2f} {np.median(syncs):7.2f}  {failed}")
        dubbed = judged(liveness_clip(photo, turns=["left", "up"], lips_follow="other"), ["left", "up"])
        print(f"{name + ', dubbed':44} {dubbed.lip_sync:16.2f} {'':7}  {dubbed.failure}")
    rng = random.Random(arguments.seed)
    syncs, failed = [], []
    for _ in range(arguments.random):
        turns = rng.choice(orders)
        digits = " ".join(str(rng.randrange(10)) for _ in range(3))
        result = judged(as_browser_webm(liveness_clip(photos["obama2"], turns=turns, digits=digits)), turns)
        syncs.append(result.lip_sync)
        if result.failure:
            failed.append(f"{'-'.join(turns)} '{digits}': {result.failure} {result.lip_sync:.2f}")
    label = f"obama2, {arguments.random} random challenges, WebM"
    print(f"{label:44} {min(syncs):7.2f}-{max(syncs):<8.2f} {np.median(syncs):7.2f}  {failed}")


if __name__ == "__main__":
    main()
