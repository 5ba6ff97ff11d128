"""Candor's rendering engine: a plain library (no Django) from portrait + speech to frames and MP4.

The API, importable from the package itself (``from inference import animate``):

- ``animate(image, audio, sample_rate, *, fps=25, phonemes=None, seed=0, ...)``: frames (H, W, 3) uint8 RGB of the
  portrait speaking the audio, lazily; ``frame_count(n_samples, sample_rate, fps)`` says how many, ``EXPRESSIONS``
  names its expressions and ``render_frame(rig, params)`` poses one frame
- ``stream(portrait, audio_chunks, sample_rate, *, fps=25, ...)``: live mode, a ``LiveFrame`` per frame as soon as
  its audio has arrived
- ``synthesize(text, language)``: speech (``Speech``: audio, sample rate, phoneme timings); ``languages()`` lists
  the language codes
- ``portrait_rig(image, *, max_side=512)``: the ``PortraitRig`` of one portrait, to build once and reuse;
  ``rig_to_bytes``, ``rig_from_bytes`` and ``RIG_FORMAT`` cache it
- ``run_ahead(items, ...)``: a pipeline stage producing in a background thread
- ``InferenceError``: what the engine raises for input it refuses (its ``code`` says why)

The modules stay importable for the rest: ``media`` (image, audio and video I/O), ``faces`` (face detection),
``speech``, ``recognition`` (speech recognition), ``animation``, ``streaming``, ``rig``, ``articulation`` and
``acoustics`` (mouth tracks), ``motion`` (blinks, brows, head), ``visemes``, ``warp``, ``neural``, ``pipeline``,
``errors`` and ``cli`` (``candor-engine``).

``import inference`` stays light (no OpenCV, SciPy or Django): each name is imported from its module when it is
first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .animation import EXPRESSIONS, animate, frame_count, render_frame
    from .errors import InferenceError
    from .pipeline import run_ahead
    from .rig import RIG_FORMAT, PortraitRig, portrait_rig, rig_from_bytes, rig_to_bytes
    from .speech import Speech, languages, synthesize
    from .streaming import LiveFrame, stream

# Name -> the module that defines it.
_API = {
    "EXPRESSIONS": "animation",
    "animate": "animation",
    "frame_count": "animation",
    "render_frame": "animation",
    "InferenceError": "errors",
    "run_ahead": "pipeline",
    "RIG_FORMAT": "rig",
    "PortraitRig": "rig",
    "portrait_rig": "rig",
    "rig_from_bytes": "rig",
    "rig_to_bytes": "rig",
    "Speech": "speech",
    "languages": "speech",
    "synthesize": "speech",
    "LiveFrame": "streaming",
    "stream": "streaming",
}

__all__ = [
    "EXPRESSIONS",
    "RIG_FORMAT",
    "InferenceError",
    "LiveFrame",
    "PortraitRig",
    "Speech",
    "animate",
    "frame_count",
    "languages",
    "portrait_rig",
    "render_frame",
    "rig_from_bytes",
    "rig_to_bytes",
    "run_ahead",
    "stream",
    "synthesize",
]


def __getattr__(name: str) -> object:
    """The API's names, each imported from its module on first use."""
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
