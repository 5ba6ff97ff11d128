"""Opt-in pytest plugin: each test's wall time and processor time, one tab-separated line per test as it ends.

`pytest -p tests.cpu_times` writes to var/test-times.tsv (CANDOR_TEST_TIMES=path for another file): wall seconds,
processor seconds of the test process, processor seconds of its children that ended (the forked capture analyses,
Celery workers, Chromium once it quits), then the test id. On a machine shared with other jobs the wall time grows with
their load and the processor time does not, so the processor times say where the suite's own work goes.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import pytest

_DEFAULT_PATH = Path(__file__).resolve().parent.parent / "var" / "test-times.tsv"


def _processor_seconds() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def pytest_configure(config):
    path = Path(os.environ.get("CANDOR_TEST_TIMES", _DEFAULT_PATH))
    path.parent.mkdir(parents=True, exist_ok=True)
    config._candor_test_times = path.open("a", buffering=1)  # line-buffered: readable while the run goes on


def pytest_unconfigure(config):
    config._candor_test_times.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    started, (own, children) = time.perf_counter(), _processor_seconds()
    yield
    own_after, children_after = _processor_seconds()
    item.config._candor_test_times.write(
        f"{time.perf_counter() - started:.2f}\t{own_after - own:.2f}\t{children_after - children:.2f}\t{item.nodeid}\n"
    )
