"""`make run`'s launcher: web and worker come up together and both stop cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.e2e
def test_sigterm_stops_web_and_worker_cleanly(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CANDOR_DATA_DIR": str(tmp_path),
        "CANDOR_LOCAL_HTTP": "1",
        "CANDOR_PORT": str(port),
    }
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=180,
    )
    log_path = tmp_path / "launcher.log"
    with open(log_path, "w") as log:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "config.launcher"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline and not ("ready." in log_path.read_text() and status == 200):
            try:
                status = urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5).status
            except OSError:
                status = None
            time.sleep(0.5)
        assert status == 200 and "ready." in log_path.read_text(), log_path.read_text()[-3000:]
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=40) == 0
    finally:
        if launcher.poll() is None:
            launcher.kill()
    output = log_path.read_text()
    assert "Warm shutdown" in output, "the worker did not shut down cleanly"
    assert "Shutting down: Master" in output, "gunicorn did not shut down cleanly"
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2)
