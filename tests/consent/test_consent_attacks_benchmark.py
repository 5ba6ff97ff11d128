"""The red-team benchmark's fast subset: its code runs through the real server, an attack class passes nothing and a
genuine stand-in passes (the full run is `python -m benchmarks.consent_attacks`, table in docs/consent.md).
"""

from __future__ import annotations

import pytest

from benchmarks.consent_attacks import GENUINE, run
from tests.conftest import LIVE_SEED

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_benchmark_refuses_an_attack_and_passes_a_genuine_stand_in():
    rows: list[str] = []
    # The suite's fixed schedule, so that this smoke run cannot draw one a genuine stand-in misses (1 in 15 did in the
    # full run); the rates themselves come from the full run with random schedules.
    tallies = run(
        ["depth warp of the portrait", GENUINE],
        tries=1,
        flash_strength=0.05,
        seed=3,
        schedule_seed=LIVE_SEED,
        report=rows.append,
    )
    assert tallies["depth warp of the portrait"].tries == 1 and tallies["depth warp of the portrait"].passes == 0
    assert tallies["depth warp of the portrait"].refusals == {"portrait_copy": 1}
    assert tallies[GENUINE].passes == 1, rows
    assert len(rows) == 2 and rows[0].startswith("| depth warp of the portrait | 1 | 0 |")
