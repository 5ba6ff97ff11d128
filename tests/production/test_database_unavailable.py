"""PostgreSQL unreachable for a moment: a real gunicorn answers 503 with Retry-After in the API's error shape, then
recovers.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.db import connection

from tests.production.conftest import _free_port
from tests.production.workers import worker_database_url

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


class TcpProxy:
    """Forwards a local port to PostgreSQL; `cut()` drops every connection and refuses new ones, like a database
    restart.
    """

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = _free_port()
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.lock = threading.Lock()

    def open(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(16)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        # shutdown() wakes the accepting thread and stops listening; close() alone would leave the port open.
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self.lock:
            for end in self.sockets:
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()
            self.sockets.clear()


def _get(port: int, path: str, token: str) -> tuple[int, dict, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


@pytest.fixture
def web_via_proxy(creator):
    from studio.accounts import creator_token_rotate

    token = creator_token_rotate(user=creator)
    db = connection.settings_dict
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    proxy.open()
    port = _free_port()
    url = worker_database_url().replace(f":{db['PORT'] or 5432}/", f":{proxy.port}/")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CANDOR_DATA_DIR": str(settings.DATA_DIR),
        "DATABASE_URL": url,
        "DEBUG": "0",
        "CANDOR_LOCAL_HTTP": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
        # Persistent connections: the cut breaks a connection the web process already holds.
        "DB_CONN_MAX_AGE": "60",
        "DB_CONNECT_TIMEOUT_S": "2",
    }
    log_path = settings.DATA_DIR / "gunicorn-proxy.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR,
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
    yield port, token, proxy, log_path
    server.terminate()
    server.wait(timeout=30)
    proxy.cut()


def test_the_api_answers_503_with_a_retry_hint_while_the_database_is_down(web_via_proxy):
    port, token, proxy, log_path = web_via_proxy
    for _ in range(4):  # both gunicorn processes hold a database connection
        assert _get(port, "/api/renders/", token)[0] == 200

    proxy.cut()
    for path in ("/api/renders/", "/api/portraits/", "/api/renders/2b0e6f5a-6f8e-4a57-9d8c-3d0a1c2b4e5f/"):
        status, headers, body = _get(port, path, token)
        assert status == 503, (path, body)
        assert headers["Retry-After"] == str(settings.CANDOR_DB_RETRY_AFTER_S)
        assert body["error"] == "service_unavailable" and "retry" in body["detail"]
    assert "Traceback" not in log_path.read_text()

    proxy.open()
    status, _, body = _get(port, "/api/renders/", token)
    assert status == 200 and body["count"] == 0
