"""Whether two faces are one person: the thresholds on dlib's 128-d descriptors, and how a capture is compared.

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
PHOTOS = 113

# Consent: a live capture (capture_distance) against the portrait. On the set, 0.50 refuses 45 of 429
# same-person captures (false-reject 10.5%) and accepts none of 12003 different-person ones (false-accept 0);
# the closest different people (two look-alikes, deepface_11/2 against deepface_12/2) measure 0.514, a margin
# of 0.014. A false-reject rate under 5% would need 0.56 (4.9%), where 5 different-person captures (0.04%)
# pass: all of the same look-alike pair. A refused person retries (5 attempts); an accepted stranger
# consents for someone else, so the threshold stays on the refusing side of every different-person pair.
CONSENT_MATCH_DISTANCE = 0.50
# Registry screen: an upload (with its mirror image, photo_distance) against a face registered from a live
# capture. Refusing blocks a creator outright, so it keeps 0.115 below the closest different people (0.515):
# at 0.40 it refuses 222 of 429 same-person uploads and no different-person one (0 of 12003).
REGISTRY_REFUSE_DISTANCE = 0.40
# Everything up to the farthest same-person pair on the set (0.675) is held for a person's review, so no
# same-person upload passes unchecked (0 of 429; at the old 0.55, 24 passed): 207 same-person uploads and
# 225 of 12003 different-person ones (1.9%) are held.
REGISTRY_REVIEW_DISTANCE = 0.68
# Registry removal: a live capture against the registered face, decided as consent is (the same figures).
REGISTRY_REMOVAL_DISTANCE = 0.50

# A capture is compared frame by frame: the pipeline's IDENTITY_FRAMES most frontal, least open-mouthed frames
# (consent/liveness.py), each against the portrait and its mirror image; the capture's distance is the median
# of its BEST_FRAMES closest frames. One blurred or mid-blink frame cannot refuse the person, and no single
# lucky frame can accept someone else.
BEST_FRAMES = 3

RegistryOutcome = Literal["refuse", "review", "pass"]


@dataclass(frozen=True)
class PortraitDescriptors:
    """A portrait's descriptor and, where its mirror image showed a face, that image's (both (128,) float64)."""

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
