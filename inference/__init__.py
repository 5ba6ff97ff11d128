"""Candor's rendering engine: a plain library (no Django) from portrait + speech to frames and MP4."""

# `inference.stream` is the live-mode function (it shadows its module: import
# the module's other names with `from inference.stream import ...`).
from .stream import stream

__all__ = ["stream"]
