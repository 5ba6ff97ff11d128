"""Separation of the portrait-copy check (consent/portrait_copy.py): its score on captures made from the portrait's own
pixels (copies) against captures made the same ways from another photo of the same person (genuine pairs).

    DJANGO_SETTINGS_MODULE=config.settings_test .venv/bin/python -m benchmarks.portrait_copy \
        [--photos DIR] [--full] [--people N] [--jobs N] [--captures DIR]

DIR holds photos of one person (the default, var/test-photos/ from `make test-photos`: face_recognition's three
photos of one man), or one folder of photos per person (the calibration set, benchmarks/data/faces/<person>/).
Every photo is in turn the portrait: each maker of tests/attacks.py (2-D warp, depth warp, engine animation) is run on
it and on every other photo of its person, through post-transforms; 5 frames of each result are scored against the
portrait. By default, captures are made from the first 2 photos of each person (scored against all of its photos)
through the four harshest transforms (QUICK_TRANSFORMS); --full: from every photo, through every transform of
tests/attacks.py and the stacked degradations (STACKED, reported apart). --people N: the first N people only.
--jobs N: N people at once. --captures DIR keeps the made captures (their analysis frames and landmarks, 1.5-4 MB
each) in DIR and reuses them, so a change to the score is measured again in minutes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from benchmarks.machine import machine_describe
from consent.portrait_copy import COPY_REVIEW_MARGIN, COPY_THRESHOLD, portrait_copy_check
from inference import InferenceError, faces
from tests import attacks
from tests.photos_fetch import PHOTOS_DIR

FRAMES = 5

# Outside --full: the four transforms that lowered copy scores most on the obama photos.
QUICK_TRANSFORMS = ["as made", "H.264 crf 35", "scale 0.5", "blur 1.5 px"]

Score = tuple[str, str, str, str, str, float]  # (copy | genuine, person, portrait/source, maker, transform, score)
Capture = tuple[list[np.ndarray], list[np.ndarray]]  # analysis frames, their landmarks


def _people(folder: Path) -> dict[str, list[Path]]:
    """person -> photos: one folder of photos per person, or photos of one person directly in folder."""
    people = {
        person.name: sorted(person.glob("*.jpg")) + sorted(person.glob("*.png"))
        for person in sorted(folder.iterdir())
        if person.is_dir()
    }
    if not people:
        people = {folder.name: sorted(folder.glob("*.jpg")) + sorted(folder.glob("*.png"))}
    return {person: photos for person, photos in people.items() if len(photos) >= 2}


def _rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def _transforms(full: bool) -> dict[str, Callable[[attacks.Frames], attacks.Frames]]:
    if full:
        return {**attacks.TRANSFORMS, **attacks.STACKED}
    return {name: attacks.TRANSFORMS[name] for name in QUICK_TRANSFORMS}


def _captures(
    person: str, source: Path, photo: np.ndarray, full: bool, store: Path | None, skipped: list[str]
) -> dict[tuple[str, str], Capture]:
    """(maker, transform) -> the capture made from photo, read from store when it was made before."""
    captures: dict[tuple[str, str], Capture] = {}
    for maker_name, maker in attacks.MAKERS.items():
        made: attacks.Frames | None = None
        for transform_name, transform in _transforms(full).items():
            path = (
                store / person / source.stem / f"{maker_name} - {transform_name}.npz".replace("/", "_")
                if store
                else None
            )
            if path is not None and path.exists():
                with np.load(path) as stored:
                    captures[(maker_name, transform_name)] = (list(stored["frames"]), list(stored["landmarks"]))
                continue
            if made is None:
                try:
                    made = maker(photo)
                except InferenceError as refusal:
                    skipped.append(f"{person}/{source.name} {maker_name}: {refusal}")
                    break
            frames, landmarks = attacks.analysis_frames(transform(made), FRAMES)
            if not frames:
                skipped.append(f"{person}/{source.name} {maker_name}, {transform_name}: no face found in the frames")
                continue
            captures[(maker_name, transform_name)] = (frames, landmarks)
            if path is not None and len({frame.shape for frame in frames}) == 1:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.savez(path, frames=np.stack(frames), landmarks=np.stack(landmarks))
    return captures


def _person_scores(
    job: tuple[str, list[Path], bool, Path | None, str],
) -> tuple[list[Score], list[float], list[str]]:
    """Every photo of one person as the portrait, against captures made from each of its photos (the first two
    outside --full)."""
    person, paths, full, store, region = job
    photos = {path.name: _rgb(path) for path in paths}
    scores: list[Score] = []
    costs: list[float] = []
    skipped: list[str] = []
    portraits = {}
    for name, photo in photos.items():
        try:
            portraits[name] = faces.face_single(photo).landmarks
        except InferenceError as refusal:
            skipped.append(f"{person}/{name}: {refusal}")
    for source in paths if full else paths[:2]:
        for (maker_name, transform_name), (frames, landmarks) in _captures(
            person, source, photos[source.name], full, store, skipped
        ).items():
            for portrait, portrait_landmarks in portraits.items():
                started = time.process_time()
                result = portrait_copy_check(photos[portrait], portrait_landmarks, frames, landmarks)
                costs.append(time.process_time() - started)
                kind = "copy" if portrait == source.name else "genuine"
                pair = f"{portrait}" if kind == "copy" else f"{portrait} <- {source.name}"
                scores.append((kind, person, pair, maker_name, transform_name, getattr(result, region)))
    return scores, costs, skipped


def _row(name: str, values: list[float]) -> str:
    if not values:
        return f"| {name} | 0 | | | | | |"
    low, p10, median, p90, high = np.percentile(values, [0, 10, 50, 90, 100])
    return f"| {name} | {len(values)} | {low:.3f} | {p10:.3f} | {median:.3f} | {p90:.3f} | {high:.3f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=PHOTOS_DIR, help="photos of one person, or a folder per person")
    parser.add_argument("--full", action="store_true", help="every photo and transform, and the stacked degradations")
    parser.add_argument("--people", type=int, default=0, help="the first N people only (0: all)")
    parser.add_argument("--jobs", type=int, default=1, help="people scored in parallel processes")
    parser.add_argument("--captures", type=Path, default=None, help="keep and reuse the made captures in this folder")
    parser.add_argument(
        "--region",
        choices=["score", "surround", "face"],
        default="score",
        help="what is reported: the check's score (default), or the surround's or the face's share alone",
    )
    arguments = parser.parse_args()
    people = _people(arguments.photos)
    if arguments.people:
        people = dict(list(people.items())[: arguments.people])
    if not people:
        raise SystemExit(f"{arguments.photos}: no person with two photos or more (run `make test-photos`?)")

    jobs = [(person, paths, arguments.full, arguments.captures, arguments.region) for person, paths in people.items()]
    scores: list[Score] = []
    costs: list[float] = []
    skipped: list[str] = []
    with multiprocessing.get_context("spawn").Pool(arguments.jobs) as pool:
        for (person, paths, _, _, _), (person_scores, person_costs, person_skipped) in zip(
            jobs, pool.imap(_person_scores, jobs), strict=True
        ):
            scores += person_scores
            costs += person_costs
            skipped += person_skipped
            print(f"{person}: {len(paths)} photos, {len({entry[2] for entry in person_scores})} pairs", flush=True)
    _report(scores, arguments, len(people))
    print(
        f"check cost: median {np.median(costs) * 1000:.0f} ms, max {max(costs) * 1000:.0f} ms "
        f"of processor time per {FRAMES} frames"
    )
    print(f"machine: {machine_describe()}")
    for line in skipped:
        print(f"skipped: {line}")


def _report(scores: list[Score], arguments: argparse.Namespace, people: int) -> None:
    def pick(
        kind: str, *, maker: str | None = None, transform: str | None = None, stacked: bool = False
    ) -> list[float]:
        return [
            value
            for k, _, _, m, t, value in scores
            if k == kind and m == (maker or m) and t == (transform or t) and (t in attacks.STACKED) == stacked
        ]

    review = COPY_THRESHOLD - COPY_REVIEW_MARGIN
    print(f"\nphotos: {arguments.photos}, {people} people, threshold {COPY_THRESHOLD}, review from {review:.2f}")
    print("\n| captures | count | min | 10% | median | 90% | max |\n| --- | --- | --- | --- | --- | --- | --- |")
    for maker_name in attacks.MAKERS:
        print(_row(f"copy: {maker_name}", pick("copy", maker=maker_name)))
    for transform_name in attacks.TRANSFORMS if arguments.full else QUICK_TRANSFORMS:
        print(_row(f"copy: {transform_name}", pick("copy", transform=transform_name)))
    print(_row("**copy, all**", pick("copy")))
    for maker_name in attacks.MAKERS:
        print(_row(f"genuine pair: {maker_name}", pick("genuine", maker=maker_name)))
    print(_row("**genuine pair, all**", pick("genuine")))
    if arguments.full:
        for transform_name in attacks.STACKED:
            print(_row(f"copy, stacked: {transform_name}", pick("copy", transform=transform_name, stacked=True)))
            print(_row(f"genuine, stacked: {transform_name}", pick("genuine", transform=transform_name, stacked=True)))
    copies, genuine = np.array(pick("copy")), np.array(pick("genuine"))
    if not (copies.size and genuine.size):
        return
    print(
        f"\nseparation margin (lowest copy - highest genuine pair): {copies.min() - genuine.max():+.3f}; "
        f"copies refused {np.mean(copies >= COPY_THRESHOLD):.1%}; genuine pairs: accepted outright "
        f"{np.mean(genuine < review):.1%}, "
        f"sent to review {np.mean((genuine >= review) & (genuine < COPY_THRESHOLD)):.1%}, "
        f"refused {np.mean(genuine >= COPY_THRESHOLD):.1%}"
    )
    overlap = sorted(
        (entry for entry in scores if entry[4] not in attacks.STACKED),
        key=lambda entry: entry[5],
    )
    low_copies = [entry for entry in overlap if entry[0] == "copy" and entry[5] <= genuine.max()]
    high_genuine = [entry for entry in overlap if entry[0] == "genuine" and entry[5] >= copies.min()]
    for kind, person, pair, maker, transform, value in low_copies[:20] + high_genuine[-20:]:
        print(f"overlap: {kind} {person} {pair}, {maker}, {transform}: {value:.3f}")
    for kind, person, pair, maker, transform, value in overlap[::-1]:
        if kind == "genuine" and value >= review:
            print(f"genuine at or above review: {person} {pair}, {maker}, {transform}: {value:.3f}")


if __name__ == "__main__":
    main()
