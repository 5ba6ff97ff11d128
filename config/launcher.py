"""`make run`: start the web server and a Celery worker in the foreground; Ctrl-C or SIGTERM stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

# The same private umask the settings set (config/settings.py), here before any child starts, so that what gunicorn
# and Celery write before they load the settings is private too.
PRIVATE_UMASK = 0o077


def _commands(host: str, port: str) -> list[list[str]]:
    python = sys.executable
    return [
        [
            python,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--timeout",
            "120",
        ],
        # --beat: the one embedded worker also runs the periodic jobs (consent expiry, clean-up).
        [
            python,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--beat",
            "--queues",
            "default,render",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
        ],
    ]


def children_start(commands: list[list[str]]) -> list[subprocess.Popen]:
    """Start each command as a child that inherits the private umask."""
    os.umask(PRIVATE_UMASK)
    return [subprocess.Popen(command) for command in commands]


def main() -> int:
    host = os.environ.get("CANDOR_HOST", "127.0.0.1")
    port = os.environ.get("CANDOR_PORT", "8000")
    children = children_start(_commands(host, port))
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"Candor is running at http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.3)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())
