"""The rig's animation parameters, in the order of a pose's columns."""

from __future__ import annotations

# Face parameters (0..1) warp the face in the photo's own frame; eyelids are
# drawn; head parameters (degrees) then move the whole head. Left and right are
# the person's own (iBUG convention): "blink_left" closes the eye on the
# image's right (points 42-47).
FACE_PARAMETERS = ("jaw_open", "lip_spread", "lip_round", "lip_close", "lip_dental", "smile", "serious", "brow_raise")
BLINK_PARAMETERS = ("blink_left", "blink_right")
HEAD_PARAMETERS = ("head_roll", "head_nod", "head_yaw")
PARAMETERS = FACE_PARAMETERS + BLINK_PARAMETERS + HEAD_PARAMETERS
