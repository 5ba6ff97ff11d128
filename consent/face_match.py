"""Whether two faces are one person: the thresholds on dlib's 128-d descriptors, and how a capture is compared.

The one source of these thresholds. Four decisions rest on the Euclidean distance between dlib face descriptors:

- consent: a live capture against the portrait (`capture_distance`, then `consent_identity`: accepted, sent to a
  person's review, or refused);
- registry removal: a live capture against the registered face (`removal_matches`);
- the do-not-generate registry screen: a new upload against each registered face (`registry_decision`:
  refused, held for a person's review, or passed);
- send-to-me routing: a portrait's consent request goes to the address registered for a face within
  REGISTRY_ROUTE_DISTANCE.

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

# Consent: a live capture (capture_distance) against the portrait, in three bands (figures: docs/face-matching.md,
# on the code of 2026-12-07; the lines were set on older figures, where no single line gave both a false-reject rate
# under 5% and no stranger accepted):
# - at or below CONSENT_ACCEPT_DISTANCE the capture is accepted by itself: below every different-person capture on
#   the set (0 of 12003; the closest, deepface_11/2 against deepface_12/2, measures 0.523, a margin of 0.023);
#   26 of 429 same-person captures (6.1%) are above it;
# - above it and up to CONSENT_REFUSE_DISTANCE the capture waits for a person's review (`identity_near_threshold`);
#   where no review is made (CANDOR_CONSENT_REVIEW=off) it is refused: 24 same-person and 10 different-person
#   captures on the set;
# - above CONSENT_REFUSE_DISTANCE it is refused outright: 2 of 429 same-person captures (0.5%).
CONSENT_ACCEPT_DISTANCE = 0.50
CONSENT_REFUSE_DISTANCE = 0.58
# Registry removal lifts an opt-out and has no review step, so it accepts only as consent accepts by itself: a
# false-reject of 6.1% on the set (the person retries), no stranger.
REGISTRY_REMOVAL_DISTANCE = CONSENT_ACCEPT_DISTANCE
# Registry screen: an upload (with its mirror image, photo_distance) against a face registered from a live
# capture. Refusing blocks a creator outright, so it keeps 0.121 below the closest different people (0.521):
# at 0.40 it refuses 227 of 429 same-person uploads and no different-person one (0 of 12003).
REGISTRY_REFUSE_DISTANCE = 0.40
# Everything up to the farthest same-person pair on the set (0.675 when the line was set, 0.601 now) is held for a
# person's review, so no same-person upload passes unchecked (0 of 429): 202 same-person uploads and 217 of 12003
# different-person ones (1.8%) are held.
REGISTRY_REVIEW_DISTANCE = 0.68
# Send-to-me: a portrait within this of a registered face has its consent link emailed to that face's registered
# address: the farthest a live capture can be from a portrait and still approve (after review), so a face that
# could approve the request as this person is never asked at another address.
REGISTRY_ROUTE_DISTANCE = CONSENT_REFUSE_DISTANCE

# A capture is compared frame by frame: the pipeline's IDENTITY_FRAMES most frontal, least open-mouthed frames
# (consent/liveness.py), each against the portrait and its mirror image; the capture's distance is the median
# of its BEST_FRAMES closest frames. One blurred or mid-blink frame cannot refuse the person, and no single
# lucky frame can accept someone else.
BEST_FRAMES = 3

IdentityOutcome = Literal["accept", "review", "refuse"]
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
    return PortraitDescriptors(faces.face_descriptor(image, face), mirrored_descriptor(image, face.box))


def mirrored_descriptor(image: np.ndarray, box: Sequence[int]) -> np.ndarray | None:
    """The descriptor (128,) of the face in the portrait's mirror image (RGB uint8 (H, W, 3)), or None when the
    detector does not find it there. box: the portrait's face (x, y, width, height) in the image.
    """
    flipped = np.ascontiguousarray(image[:, ::-1])
    found = faces.faces_detect(flipped)
    if not found:
        return None
    # The mirror image's face is the one whose box mirrors the portrait's.
    x, _, w, _ = box
    centre = image.shape[1] - (x + w / 2)
    mirrored_face = min(found, key=lambda f: abs(f.box[0] + f.box[2] / 2 - centre))
    return faces.face_descriptor(flipped, mirrored_face)


def stored_descriptors(portrait) -> PortraitDescriptors:
    """A stored portrait's descriptors (read through its `descriptor` and `mirrored_descriptor` attributes)."""
    mirrored = portrait.mirrored_descriptor
    return PortraitDescriptors(np.asarray(portrait.descriptor), None if mirrored is None else np.asarray(mirrored))


def _references(face: PortraitDescriptors | np.ndarray) -> list[np.ndarray]:
    return face.all() if isinstance(face, PortraitDescriptors) else [np.asarray(face)]


def frame_distances(frames: Sequence[np.ndarray], portrait: PortraitDescriptors | np.ndarray) -> np.ndarray:
    """Each capture frame descriptor's (128,) distance to the nearest of the portrait's descriptors, in frame order."""
    references = _references(portrait)
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


@dataclass(frozen=True)
class AcceptLine:
    """The face a capture is compared with and the distance at or within which it is accepted by itself.

    Once BEST_FRAMES frames are described, capture_distance can only fall as more frames are added (it is the median
    of the closest BEST_FRAMES), so a capture already within the line stays within it: its other identity frames need
    not be described (each costs about 7 ms of processor time: inference.descriptor_net) to reach the same decision.
    """

    face: PortraitDescriptors | np.ndarray
    distance: float

    def accepted(self, frames: Sequence[np.ndarray]) -> bool:
        """Whether these frame descriptors already accept the capture, whatever its other frames would measure."""
        return len(frames) >= BEST_FRAMES and capture_distance(frames, self.face) <= self.distance


def photo_distance(upload: PortraitDescriptors | np.ndarray, registered: np.ndarray) -> float:
    """The distance between a photo (its descriptors, mirror image included where known) and one registered face."""
    references = _references(upload)
    return min(faces.descriptor_distance(reference, registered) for reference in references)


def consent_identity(distance: float) -> IdentityOutcome:
    """What a consent capture at this `capture_distance` from the portrait gets: accepted as the person pictured,
    sent to a person's review, or refused.
    """
    if distance <= CONSENT_ACCEPT_DISTANCE:
        return "accept"
    if distance <= CONSENT_REFUSE_DISTANCE:
        return "review"
    return "refuse"


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
