"""The verifier's tests use the same real, tiny MP4s as provenance's."""

from tests.provenance.conftest import remux_mp4, sample_mp4

__all__ = ["remux_mp4", "sample_mp4"]
