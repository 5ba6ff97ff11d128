"""The rig's stored form: an .npz archive of its arrays (no pickle), cached beside its portrait."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import fields
from types import MappingProxyType
from typing import Any, TypeVar

import numpy as np

from .eyelids import Eyelid
from .geometry import frozen
from .mouth import InnerMouth
from .parameters import BLINK_PARAMETERS
from .portrait import PortraitRig

# Version of the rig's stored form (rig_to_bytes): bump it when the rig changes, so cached rigs are rebuilt.
RIG_FORMAT = "candor-rig-10"


_Record = TypeVar("_Record", PortraitRig, Eyelid, InnerMouth)


def rig_to_bytes(rig: PortraitRig) -> bytes:
    """The rig as an .npz archive (arrays only, no pickle), to cache it with its portrait."""
    arrays = {"format": np.array(RIG_FORMAT)}
    _flatten(rig, "", arrays)
    for name, eyelid in rig.eyelids.items():
        _flatten(eyelid, f"eyelids.{name}.", arrays)
    _flatten(rig.mouth, "mouth.", arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as its allow_pickle
    return buffer.getvalue()


def rig_from_bytes(data: bytes) -> PortraitRig | None:
    """The rig stored by rig_to_bytes, or None when the archive is unreadable or of another format (rebuild it then)."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    if arrays.get("format") != RIG_FORMAT:
        return None
    try:
        eyelids = {
            name: _unflatten(Eyelid, f"eyelids.{name}.", arrays)
            for name in BLINK_PARAMETERS
            if f"eyelids.{name}.box" in arrays
        }
        return _unflatten(
            PortraitRig, "", arrays, eyelids=MappingProxyType(eyelids), mouth=_unflatten(InnerMouth, "mouth.", arrays)
        )
    except (KeyError, TypeError, ValueError):
        return None


def _flatten(record: PortraitRig | Eyelid | InnerMouth, prefix: str, arrays: dict[str, np.ndarray]) -> None:
    for field in fields(record):
        value = getattr(record, field.name)
        if value is not None and field.name not in ("eyelids", "mouth"):
            arrays[prefix + field.name] = np.asarray(value)


def _unflatten(kind: type[_Record], prefix: str, arrays: Mapping[str, np.ndarray], **given: object) -> _Record:
    values: dict[str, Any] = dict(given)
    for field in fields(kind):
        if field.name in given:
            continue
        stored = arrays.get(prefix + field.name)
        if stored is None:
            values[field.name] = None  # optional arrays (a photo without an open mouth)
        elif str(field.type).startswith("tuple"):
            values[field.name] = tuple(int(v) for v in stored)
        elif field.type in ("float", "bool"):
            values[field.name] = float(stored) if field.type == "float" else bool(stored)
        else:
            values[field.name] = frozen(stored)
    return kind(**values)
