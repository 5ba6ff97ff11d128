"""Face matching measured on the calibration set: same- and different-person distances, error rates by threshold.

The set is benchmarks/data/faces/<person>/<n>.jpg (built by benchmarks/faces_collect.py). Two comparisons:

- photo against photo (the registry: an upload against a registered face): every pair of photos,
  plain (the two descriptors) and with the mirror image (the nearer of the photo and its mirror image);
- capture against portrait (consent, registry removal): each photo made into a live capture with
  tests/clips.py (head turns, the mouth reading digits, H.264), decoded and analysed by the consent
  pipeline (consent/liveness.py: clip_decode, clip_liveness's identity frames), then compared with every
  other photo as the portrait, three ways: the median descriptor of the frames against the portrait (what
  consent did before), and consent/face_match.capture_distance (the median of the best frames against
  the portrait and its mirror image).

For each, the distance distributions and, at every threshold 0.30 .. 0.70 by 0.02, the false-reject rate
(same person above it) and false-accept rate (different people at or below it).

    python -m benchmarks.face_match [--people obama,biden,...] [--skip-captures] [--json out.json]

Descriptors and capture frames are cached in var/face_match/ by each crop's SHA-256.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from consent import face_match
from inference import faces

DATA_DIR = Path(__file__).resolve().parent / "data" / "faces"
CACHE_DIR = Path(__file__).resolve().parents[1] / "var" / "face_match"
THRESHOLDS = tuple(round(0.30 + 0.02 * i, 2) for i in range(21))
CAPTURE_TURNS = ("left", "right", "up", "down")
CAPTURE_DIGITS = "4 7 2"


@dataclass
class Photo:
    """One crop of the set with its descriptors; capture_frames: the descriptors of its capture's identity frames."""

    person: str
    file: str
    image: np.ndarray
    sha256: str
    descriptor: np.ndarray | None = None
    mirrored: np.ndarray | None = None
    capture_frames: np.ndarray | None = None  # (k, 128)
    capture_note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def portrait(self) -> face_match.PortraitDescriptors:
        assert self.descriptor is not None
        return face_match.PortraitDescriptors(self.descriptor, self.mirrored)


def load_set(root: Path = DATA_DIR, people: Iterable[str] | None = None) -> list[Photo]:
    """The set's photos (RGB uint8), person by person, optionally only some people."""
    wanted = set(people) if people is not None else None
    photos = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if wanted is not None and folder.name not in wanted:
            continue
        for path in sorted(folder.glob("*.jpg"), key=lambda p: int(p.stem)):
            data = path.read_bytes()
            image = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            photos.append(Photo(folder.name, f"{folder.name}/{path.name}", image, hashlib.sha256(data).hexdigest()))
    return photos


def photo_descriptors(photo: Photo) -> None:
    """Fill the photo's descriptor and its mirror image's (the largest face, as a portrait upload would have one)."""
    found = faces.faces_detect(photo.image)
    if not found:
        raise ValueError(f"{photo.file}: no face found")
    face = max(found, key=lambda f: f.box[2] * f.box[3])
    described = face_match.portrait_descriptors(photo.image, face)
    photo.descriptor, photo.mirrored = described.descriptor, described.mirrored


def capture_frames(photo: Photo, index: int) -> None:
    """Make the photo a live capture and keep the descriptors of the frames the consent pipeline compares."""
    from consent import liveness
    from tests.clips import liveness_clip

    turns = [CAPTURE_TURNS[index % 4], CAPTURE_TURNS[(index + 1 + index // 4) % 4]]
    if turns[0] == turns[1]:
        turns[1] = CAPTURE_TURNS[(index + 2) % 4]
    try:
        data = liveness_clip(photo.image, turns=turns, digits=CAPTURE_DIGITS)
    except Exception as error:  # noqa: BLE001 - a photo the clip builder cannot use is reported, not fatal
        photo.capture_frames, photo.capture_note = np.zeros((0, 128)), f"clip not built: {error}"
        return
    clip = liveness.clip_decode(data)
    result = liveness.clip_liveness(clip, turns=turns)
    descriptors = []
    for frame_index in result.identity_frames:
        found = faces.faces_detect(clip.frames[frame_index])
        if found:
            descriptors.append(faces.face_descriptor(clip.frames[frame_index], found[0]))
    photo.capture_frames = np.array(descriptors).reshape(-1, 128)
    photo.capture_note = "" if descriptors else f"no identity frame ({result.failure})"


def describe(photos: Sequence[Photo], *, captures: bool, cache_dir: Path | None = CACHE_DIR) -> None:
    """Descriptors (and capture frames) of every photo, from the cache where it has them."""
    for index, photo in enumerate(photos):
        cached = cache_dir / f"{photo.sha256}.npz" if cache_dir is not None else None
        stored = dict(np.load(cached)) if cached is not None and cached.exists() else {}
        if "descriptor" in stored:
            photo.descriptor = stored["descriptor"]
            photo.mirrored = stored["mirrored"] if stored["mirrored"].size else None
        else:
            photo_descriptors(photo)
        if captures:
            if "capture_frames" in stored:
                photo.capture_frames = stored["capture_frames"]
                photo.capture_note = str(stored["capture_note"])
            else:
                capture_frames(photo, index)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            payload = {
                "descriptor": photo.descriptor,
                "mirrored": photo.mirrored if photo.mirrored is not None else np.zeros(0),
            }
            if photo.capture_frames is not None:
                payload.update(capture_frames=photo.capture_frames, capture_note=np.array(photo.capture_note))
            np.savez(cached, **payload)


Comparison = Callable[[Photo, Photo], float | None]


def photo_plain(a: Photo, b: Photo) -> float:
    assert a.descriptor is not None and b.descriptor is not None
    return faces.descriptor_distance(a.descriptor, b.descriptor)


def photo_with_mirror(a: Photo, b: Photo) -> float:
    """An upload (a, with its mirror image) against a registered face (b's own descriptor)."""
    assert b.descriptor is not None
    return face_match.photo_distance(a.portrait, b.descriptor)


def capture_median_descriptor(capture: Photo, portrait: Photo) -> float | None:
    """What consent did before capture_distance: the frames' median descriptor against the portrait's descriptor."""
    if capture.capture_frames is None or not len(capture.capture_frames):
        return None
    assert portrait.descriptor is not None
    return faces.descriptor_distance(np.median(capture.capture_frames, axis=0), portrait.descriptor)


def capture_best_frames(capture: Photo, portrait: Photo) -> float | None:
    """consent/face_match.capture_distance: the median of the best frames against the portrait and its mirror."""
    if capture.capture_frames is None or not len(capture.capture_frames):
        return None
    return face_match.capture_distance(list(capture.capture_frames), portrait.portrait)


def capture_best_frames_no_mirror(capture: Photo, portrait: Photo) -> float | None:
    if capture.capture_frames is None or not len(capture.capture_frames):
        return None
    assert portrait.descriptor is not None
    return face_match.capture_distance(list(capture.capture_frames), portrait.descriptor)


def registry_upload(upload: Photo, registered: Photo) -> float | None:
    """The registry screen: an upload (with its mirror image) against a face registered from a live capture.

    A registry entry keeps its capture's median frame descriptor (consent/services/registry.py registry_capture_submit).
    """
    if registered.capture_frames is None or not len(registered.capture_frames):
        return None
    return face_match.photo_distance(upload.portrait, np.median(registered.capture_frames, axis=0))


PHOTO_COMPARISONS: dict[str, Comparison] = {"photo: plain": photo_plain, "photo: with mirror": photo_with_mirror}
CAPTURE_COMPARISONS: dict[str, Comparison] = {
    "registry: upload with mirror vs registered capture": registry_upload,
    "capture: median descriptor (old)": capture_median_descriptor,
    "capture: best frames, no mirror": capture_best_frames_no_mirror,
    "capture: best frames + mirror (face_match)": capture_best_frames,
}


@dataclass
class Distances:
    """Same-person and different-person distances of one comparison, with the pairs they came from."""

    same: list[tuple[float, str, str]]
    different: list[tuple[float, str, str]]
    missing: int = 0

    def same_values(self) -> np.ndarray:
        return np.array([d for d, _, _ in self.same])

    def different_values(self) -> np.ndarray:
        return np.array([d for d, _, _ in self.different])


def distances(photos: Sequence[Photo], comparison: Comparison, *, ordered: bool) -> Distances:
    """Every pair's distance; ordered pairs (capture, portrait) for captures, unordered ones for photos."""
    pairs = itertools.permutations(photos, 2) if ordered else itertools.combinations(photos, 2)
    result = Distances([], [])
    for a, b in pairs:
        value = comparison(a, b)
        if value is None:
            result.missing += 1
            continue
        (result.same if a.person == b.person else result.different).append((value, a.file, b.file))
    return result


def rates(measured: Distances, threshold: float) -> tuple[float, float]:
    """(false-reject rate, false-accept rate) at a threshold: accepted when distance <= threshold."""
    same, different = measured.same_values(), measured.different_values()
    false_reject = float(np.mean(same > threshold)) if same.size else 0.0
    false_accept = float(np.mean(different <= threshold)) if different.size else 0.0
    return false_reject, false_accept


def summary(values: np.ndarray) -> str:
    if not values.size:
        return "none"
    p = np.percentile(values, [0, 10, 50, 90, 100])
    return f"n={values.size:5d} min {p[0]:.3f} p10 {p[1]:.3f} median {p[2]:.3f} p90 {p[3]:.3f} max {p[4]:.3f}"


def machine() -> str:
    import dlib

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.node()}: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, dlib {dlib.__version__}, OpenCV {cv2.__version__}"
    )


def report(name: str, measured: Distances, out: list[str]) -> dict:
    out.append(f"\n== {name}")
    out.append(f"same person      {summary(measured.same_values())}")
    out.append(f"different people {summary(measured.different_values())}")
    if measured.missing:
        out.append(f"pairs without a measurable capture: {measured.missing}")
    out.append("threshold  false-reject  false-accept")
    table = []
    for threshold in THRESHOLDS:
        frr, far = rates(measured, threshold)
        table.append({"threshold": threshold, "false_reject": frr, "false_accept": far})
        out.append(f"  {threshold:.2f}     {100 * frr:6.2f} %     {100 * far:6.3f} %")
    worst_same = sorted(measured.same, reverse=True)[:5]
    closest_different = sorted(measured.different)[:5]
    out.append("farthest same-person pairs:   " + "; ".join(f"{d:.3f} {a}~{b}" for d, a, b in worst_same))
    out.append("closest different-people pairs: " + "; ".join(f"{d:.3f} {a}~{b}" for d, a, b in closest_different))
    return {
        "same": sorted(d for d, _, _ in measured.same),
        "different_min": min((d for d, _, _ in measured.different), default=None),
        "missing": measured.missing,
        "rates": table,
        "farthest_same": worst_same,
        "closest_different": closest_different,
    }


def chosen(photo: Distances, capture: Distances | None, out: list[str]) -> None:
    """The rates the thresholds in consent/face_match.py give on this set.

    photo: the registry screen's distances (upload against registered capture; photo against photo with
    --skip-captures); capture: face_match.capture_distance's.
    """
    out.append("\n== thresholds in consent/face_match.py")
    same, different = photo.same_values(), photo.different_values()
    refused = int(np.sum(same <= face_match.REGISTRY_REFUSE_DISTANCE))
    held = int(np.sum((same > face_match.REGISTRY_REFUSE_DISTANCE) & (same <= face_match.REGISTRY_REVIEW_DISTANCE)))
    passed = int(np.sum(same > face_match.REGISTRY_REVIEW_DISTANCE))
    wrongly_refused = int(np.sum(different <= face_match.REGISTRY_REFUSE_DISTANCE))
    held_different = int(np.sum(different <= face_match.REGISTRY_REVIEW_DISTANCE)) - wrongly_refused
    out.append(
        f"registry (refuse <= {face_match.REGISTRY_REFUSE_DISTANCE}, review <= {face_match.REGISTRY_REVIEW_DISTANCE}), "
        f"same person {refused} refused, {held} held, {passed} passed of {same.size}; "
        f"different people {wrongly_refused} refused, {held_different} held of {different.size}; "
        f"farthest same person {same.max():.3f}, closest different people {different.min():.3f}"
    )
    if capture is not None:
        same, different = capture.same_values(), capture.different_values()
        for label, values in (("same person", same), ("different people", different)):
            outcomes = [face_match.consent_identity(float(d)) for d in values]
            out.append(
                f"consent (accept <= {face_match.CONSENT_ACCEPT_DISTANCE}, review <= "
                f"{face_match.CONSENT_REFUSE_DISTANCE}), {label}: "
                + ", ".join(f"{outcomes.count(o)} {o}" for o in ("accept", "review", "refuse"))
                + f" of {values.size} ({100 * outcomes.count('refuse') / values.size:.2f} % refused outright, "
                f"{100 * outcomes.count('accept') / values.size:.3f} % accepted by itself)"
            )
        removed = int(np.sum([face_match.removal_matches(float(d)) for d in same]))
        removed_different = int(np.sum([face_match.removal_matches(float(d)) for d in different]))
        out.append(
            f"registry removal (<= {face_match.REGISTRY_REMOVAL_DISTANCE}): same person {removed} of {same.size} "
            f"removed (false-reject {100 * (1 - removed / same.size):.2f} %), different people {removed_different} "
            f"of {different.size}; closest different pair {float(different.min()):.3f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", help="comma-separated people (folders) to use; default all")
    parser.add_argument("--skip-captures", action="store_true", help="photo against photo only")
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--json", type=Path, help="write the distributions and rate tables here")
    args = parser.parse_args(argv)
    started = time.time()
    photos = load_set(people=args.people.split(",") if args.people else None)
    describe(photos, captures=not args.skip_captures, cache_dir=None if args.no_cache else CACHE_DIR)
    out = [
        f"machine: {machine()}",
        f"set: {len(photos)} photos of {len({p.person for p in photos})} people ({DATA_DIR})",
    ]
    no_capture = [f"{p.file} ({p.capture_note})" for p in photos if p.capture_note]
    if no_capture:
        out.append("captures that gave no identity frame: " + ", ".join(no_capture))
    results = {}
    measured_photo = None
    for name, comparison in PHOTO_COMPARISONS.items():
        measured = distances(photos, comparison, ordered=name != "photo: plain")
        results[name] = report(name, measured, out)
        measured_photo = measured
    measured_capture = None
    if not args.skip_captures:
        for name, comparison in CAPTURE_COMPARISONS.items():
            measured = distances(photos, comparison, ordered=True)
            results[name] = report(name, measured, out)
            if name.startswith("registry"):
                measured_photo = measured
            measured_capture = measured
    assert measured_photo is not None
    chosen(measured_photo, measured_capture, out)
    out.append(f"\n{time.time() - started:.1f} s")
    print("\n".join(out))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
