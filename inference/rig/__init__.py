"""Per-portrait animation rig: the resized photo, its landmarks and dense displacement fields for a warp.

The package's face is the rig's API; its modules, one topic each, are its internals:

- ``parameters``: the animation parameters (face, blink, head) in a pose's column order
- ``portrait``: ``PortraitRig`` and ``portrait_rig``, which builds it from a photo
- ``geometry``: iBUG landmark indices, the face's own axes, shared array helpers
- ``mesh``: the face mesh, its motion per face parameter and the dense fields from it
- ``mouth``: parted lips refined and closed in the photo; ``InnerMouth``, painted between them
- ``eyelids``: ``Eyelid``, each eye's upper lid as it closes
- ``head``: fields per degree of head roll, nod and yaw
- ``storage``: ``rig_to_bytes`` / ``rig_from_bytes`` and ``RIG_FORMAT``, the cached form
"""

from __future__ import annotations

from .eyelids import Eyelid
from .mouth import InnerMouth
from .parameters import BLINK_PARAMETERS, FACE_PARAMETERS, HEAD_PARAMETERS, PARAMETERS
from .portrait import PortraitRig, portrait_rig
from .storage import RIG_FORMAT, rig_from_bytes, rig_to_bytes

__all__ = [
    "BLINK_PARAMETERS",
    "FACE_PARAMETERS",
    "HEAD_PARAMETERS",
    "PARAMETERS",
    "RIG_FORMAT",
    "Eyelid",
    "InnerMouth",
    "PortraitRig",
    "portrait_rig",
    "rig_from_bytes",
    "rig_to_bytes",
]
