"""The interop tests sign the provenance tests' real, tiny MP4s and judge them with c2pa-ts."""

from tests.interop.c2pa_ts import c2pa_ts
from tests.provenance.conftest import sample_mp4

__all__ = ["c2pa_ts", "sample_mp4"]
