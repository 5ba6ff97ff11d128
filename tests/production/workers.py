"""Real Celery worker processes for tests: on the test database and the configured broker, as many as asked."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

READY_TIMEOUT_S = 90


def worker_database_url() -> str:
    """The URL of the database the tests run on (pytest-django's test database), for processes started by tests."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    if db["ENGINE"] == "django.db.backends.postgresql":
        credentials = (
            f"{quote(db['USER'] or '', safe='')}:{quote(db['PASSWORD'] or '', safe='')}@" if db["USER"] else ""
        )
        return f"postgres://{credentials}{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    raise RuntimeError(f"no URL form for database engine {db['ENGINE']}")


def broker_purge(broker_url: str) -> None:
    """Start from an empty queue: messages left by an earlier run would otherwise name renders that no longer exist."""
    if broker_url.startswith("filesystem://"):
        queue = Path(settings.DATA_DIR) / "queue"
        for folder in ("in", "processed"):
            shutil.rmtree(queue / folder, ignore_errors=True)
            (queue / folder).mkdir(parents=True)
    elif broker_url.startswith(("redis://", "rediss://")):
        import redis

        redis.Redis.from_url(broker_url).flushdb()


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


class Workers:
    """`celery -A config worker` processes, each with one pool child, consuming the `default` and `render` queues."""

    def __init__(self, *, count: int = 1, broker_url: str | None = None, env: dict[str, str] | None = None):
        self.count = count
        self.broker_url = broker_url or settings.CELERY_BROKER_URL
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CANDOR_DATA_DIR": str(settings.DATA_DIR),
            "DATABASE_URL": worker_database_url(),
            "CELERY_BROKER_URL": self.broker_url,
            **(env or {}),
        }
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def __enter__(self) -> Workers:
        broker_purge(self.broker_url)
        for index in range(self.count):
            log_path = Path(settings.DATA_DIR) / f"worker-{index}.log"
            with open(log_path, "w") as log:
                self.processes.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "celery",
                            "-A",
                            "config",
                            "worker",
                            "--hostname",
                            f"candor-test-{index}@%h",
                            "--queues",
                            "default,render",
                            "--concurrency",
                            "1",
                            "--without-gossip",
                            "--without-mingle",
                            "--loglevel",
                            "INFO",
                        ],
                        env=self.env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        cwd=settings.BASE_DIR,
                    )
                )
            self.logs.append(log_path)
        deadline = time.monotonic() + READY_TIMEOUT_S
        for process, log_path in zip(self.processes, self.logs, strict=True):
            while "ready." not in log_path.read_text():
                if process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"a Celery worker did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.3)
        return self

    def pool_children(self) -> list[int]:
        return [child for process in self.processes for child in _children(process.pid)]

    def kill_pool_children(self) -> list[int]:
        """SIGKILL every pool child (what the kernel's OOM killer does to a render): the worker itself survives."""
        killed = self.pool_children()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        return killed

    def log_text(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-4000:]}" for path in self.logs)

    def __exit__(self, *exc_info) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
