"""Fixtures shared by the engine's tests."""

import pytest

from benchmarks import face_mesh


@pytest.fixture(scope="session")
def mesh_model():
    """The quality judge's face mesh; the first use downloads it (pip, from PyPI), so without a network this skips,
    saying why."""
    reason = face_mesh.available()
    if reason is not None:
        pytest.skip(f"the quality judge's face mesh is unavailable: {reason}")
