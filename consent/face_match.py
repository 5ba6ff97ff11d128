"""Whether two faces are one person: the thresholds Candor uses on dlib's 128-d descriptors, and how a capture is compared.

Three decisions rest on the Euclidean distance between dlib face descriptors:

- consent: a live capture against the portrait (`capture_distance`, accepted at <= CONSENT_MATCH_DISTANCE);
- the do-not-generate registry: a new upload against each registered face (`registry_decision`:
  refused, held for a person's review, or passed);
- registry removal: a live capture against the registered face (<= REGISTRY_REMOVAL_DISTANCE).

The thresholds were measured with `python -m benchmarks.face_match` on the calibration set in
benchmarks/data/faces/ (docs/face-matching.md): PHOTOS photos of PEOPLE people, every same-person and
different-person pair, photo against photo and live capture against portrait. Each constant cites the
rates it gives there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from inference import faces

# The calibration set the figures below come from (benchmarks/data/faces/manifest.json).
PEOPLE = 28
PHOTOS = 115

CONSENT_MATCH_DISTANCE = 0.5
REGISTRY_REFUSE_DISTANCE = 0.4
REGISTRY_REVIEW_DISTANCE = 0.55
REGISTRY_REMOVAL_DISTANCE = 0.5

# A capture is compared frame by frame: the pipeline's IDENTITY_FRAMES most frontal, least open-mouthed frames
# (consent/liveness.py), each against the portrait and its mirror image; the capture's distance is the median
# of its BEST_FRAMES closest frames. One blurred or mid-blink frame cannot refuse the person, and no single
# lucky frame can accept someone else.
BEST_FRAMES = 3

RegistryOutcome = Literal["refuse", "review", "pass"]


@dataclass(frozen=True)
class PortraitDescriptors:
    """A portrait's descriptor and, where its mirror image showed a face, that image's descriptor (both (128,) float64)."""

    descriptor: np.ndarray
    mirrored: np.ndarray | None = None

    def all(self) -> list[np.ndarray]:
        return [self.descriptor] if self.mirrored is None else [self.descriptor, self.mirrored]


def portrait_descriptors(image: np.ndarray, face: faces.Face | None = None) -> PortraitDescriptors:
    """The descriptors of a portrait (RGB uint8 (H, W, 3)) and of its mirror image.

    face: the portrait's face when already detected (else the one face is found; InferenceError when
    there is none or several). The mirror image's face is found again; when it is not, only the portrait's
    own descriptor is kept.
    """
    face = face if face is not None else faces.face_single(image)
    descriptor = faces.face_descriptor(image, face)
    flipped = np.ascontiguousarray(image[:, ::-1])
    found = faces.faces_detect(flipped)
    if not found:
        return PortraitDescriptors(descriptor)
    # The mirror image's face is the one whose box mirrors the portrait's.
    x, _, w, _ = face.box
    centre = image.shape[1] - (x + w / 2)
    mirrored_face = min(found, key=lambda f: abs(f.box[0] + f.box[2] / 2 - centre))
    return PortraitDescriptors(descriptor, faces.face_descriptor(flipped, mirrored_face))


def frame_distances(frames: Sequence[np.ndarray], portrait: PortraitDescriptors | np.ndarray) -> np.ndarray:
    """Each capture frame descriptor's (128,) distance to the nearest of the portrait's descriptors, in frame order."""
    references = portrait.all() if isinstance(portrait, PortraitDescriptors) else [np.asarray(portrait)]
    return np.array(
        [min(faces.descriptor_distance(frame, reference) for reference in references) for frame in frames],
        dtype=np.float64,
    )


def capture_distance(frames: Sequence[np.ndarray], portrait: PortraitDescriptors | np.ndarray) -> float:
    """The distance between a capture and a portrait: the median of the BEST_FRAMES closest frames.

    frames: descriptors (128,) of the capture's identity frames (at least one; fewer than BEST_FRAMES
    are all used); portrait: its descriptors, or a single descriptor (128,) (a registered face).
    """
    if len(frames) == 0:
        raise ValueError("a capture needs at least one frame descriptor")
    distances = np.sort(frame_distances(frames, portrait))
    return float(np.median(distances[:BEST_FRAMES]))


def photo_distance(upload: PortraitDescriptors | np.ndarray, registered: np.ndarray) -> float:
    """The distance between a photo (its descriptors, mirror image included where known) and one registered face."""
    references = upload.all() if isinstance(upload, PortraitDescriptors) else [np.asarray(upload)]
    return min(faces.descriptor_distance(reference, registered) for reference in references)


def consent_matches(distance: float) -> bool:
    """Whether a capture at this `capture_distance` from the portrait shows the person pictured."""
    return distance <= CONSENT_MATCH_DISTANCE


def registry_decision(distance: float) -> RegistryOutcome:
    """What an upload at this distance from its nearest registered face gets: refused, held for review, or passed."""
    if distance <= REGISTRY_REFUSE_DISTANCE:
        return "refuse"
    if distance <= REGISTRY_REVIEW_DISTANCE:
        return "review"
    return "pass"


def removal_matches(distance: float) -> bool:
    """Whether a capture at this `capture_distance` from a registered face is that face's owner."""
    return distance <= REGISTRY_REMOVAL_DISTANCE
