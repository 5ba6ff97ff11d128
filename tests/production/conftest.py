"""Production-mode tests: faults, duplicates and settings; those needing PostgreSQL and Redis skip loudly
without them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings

HERE = Path(__file__).resolve().parent
SERVICES_MISSING_PREFIX = "production group (PostgreSQL + Redis)"


def _services_missing() -> str | None:
    """Why the PostgreSQL + Redis group cannot run here, or None when it can."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "DATABASE_URL is not a postgres:// URL"
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return "CELERY_BROKER_URL is not a redis:// URL"
    import redis

    try:
        redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        return f"Redis at CELERY_BROKER_URL does not answer ({error})"
    return None


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by the marker added here
def pytest_collection_modifyitems(config, items):
    ours = [item for item in items if HERE in Path(str(item.path)).parents]
    for item in ours:
        item.add_marker(pytest.mark.production)
    needing = [item for item in ours if item.get_closest_marker("services")]
    if not needing:
        return
    missing = _services_missing()
    if missing is None:
        return
    if os.environ.get("CANDOR_REQUIRE_SERVICES") == "1":
        pytest.exit(f"{SERVICES_MISSING_PREFIX} was required (CANDOR_REQUIRE_SERVICES=1) but {missing}", returncode=3)
    skip = pytest.mark.skip(
        reason=f"{SERVICES_MISSING_PREFIX} not run: {missing}; start both and run `make test-production`"
    )
    for item in needing:
        item.add_marker(skip)


@pytest.fixture
def consented_portrait(creator, portrait_jpeg):
    """A portrait of the astronaut whose consent is active for every purpose and language."""
    from tests.helpers import portrait_with_active_consent

    return portrait_with_active_consent(creator, portrait_jpeg)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A private redis-server with append-only persistence (fsync on every write), which a test may kill and restart."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=1).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()


@pytest.fixture
def redis_server(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip(f"{SERVICES_MISSING_PREFIX} not run: redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()
