"""Loopback load test: concurrent clients on the public verifier and the render-status API while renders run.

Starts its own Candor (gunicorn + a Celery worker, as `make run` does) on a fresh data directory, so it measures the
embedded default unless DATABASE_URL / CELERY_BROKER_URL point elsewhere. Usage:

    .venv/bin/python benchmarks/load.py --clients 50 --duration 60
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

from benchmarks.machine import machine_describe

REPO = Path(__file__).resolve().parent.parent
RENDER_TEXT = "The quick brown fox jumps over the lazy dog. " * 8
MAX_CLIENTS = 200
MAX_DURATION_S = 600
CLIP_FRAMES = 10


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help=f"concurrent clients (at most {MAX_CLIENTS})")
    parser.add_argument("--duration", type=float, default=60, help=f"seconds of load (at most {MAX_DURATION_S})")
    parser.add_argument("--renders", type=int, default=2, help="renders kept running during the load")
    parser.add_argument("--verify-share", type=float, default=0.2, help="share of requests that go to the verifier")
    parser.add_argument(
        "--verify-rate",
        default="1000000/minute",
        help="CANDOR_VERIFY_RATE for the run (the default lifts the per-client throttle: all clients share 127.0.0.1)",
    )
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn processes (4 threads each)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--keep-data", action="store_true", help="keep the run's data directory and server logs")
    args = parser.parse_args()
    if not 1 <= args.clients <= MAX_CLIENTS or not 1 <= args.duration <= MAX_DURATION_S:
        parser.error(f"--clients must be 1..{MAX_CLIENTS} and --duration 1..{MAX_DURATION_S}")
    return args


def _environment(data_dir: Path, args) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CANDOR_DATA_DIR": str(data_dir),
        "CANDOR_LOCAL_HTTP": "1",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CANDOR_VERIFY_RATE": args.verify_rate,
        "LOG_LEVEL": "WARNING",
    }


def _creator_with_consented_portrait() -> tuple[str, str]:
    """The creator's API token and a portrait whose consent is active (granted directly: this is a load fixture)."""
    from datetime import timedelta

    import django

    django.setup()
    import skimage.data
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from consent.models import Consent
    from consent.services import consent_request_create
    from inference import media
    from studio.accounts import creator_token_rotate
    from studio.services import portrait_create

    user = get_user_model().objects.create_user(username=f"load-{uuid.uuid4().hex[:8]}", password=uuid.uuid4().hex)
    portrait = portrait_create(
        owner=user,
        image=SimpleUploadedFile("p.jpg", media.image_encode_jpeg(skimage.data.astronaut())),
        subject_name="Load Test",
        subject_email="load@example.com",
    )
    consent = consent_request_create(portrait=portrait, requested_by=user)
    Consent.objects.filter(id=consent.id).update(
        status=Consent.Status.ACTIVE,
        purposes=consent.requested_purposes,
        languages=["any"],
        expires_at=timezone.now() + timedelta(days=1),
        decided_at=timezone.now(),
    )
    return creator_token_rotate(user=user), str(portrait.id)


def _clip() -> bytes:
    """A short 256x256 H.264 clip of a photo for the verifier (not a Candor video, so the whole watermark
    search runs).
    """
    import av
    import numpy as np
    import skimage.data
    import skimage.transform

    photo = (skimage.transform.resize(skimage.data.coffee(), (256, 256)) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width = stream.height = 256
        stream.pix_fmt = "yuv420p"
        for index in range(CLIP_FRAMES):
            frame = av.VideoFrame.from_ndarray(np.roll(photo, index, axis=1), format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def _multipart(field: str, name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


class Client:
    """One keep-alive HTTP connection to the server on loopback."""

    def __init__(self, port: int, token: str):
        self.port = port
        self.token = token
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None, auth: bool = True
    ):
        headers = {"Authorization": f"Token {self.token}"} if auth else {}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            raise


def _start_stack(env: dict[str, str], args) -> tuple[list[subprocess.Popen], Path]:
    logs = Path(env["CANDOR_DATA_DIR"]) / "logs"
    logs.mkdir(exist_ok=True)
    commands = {
        "web": [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.web_workers),
            "--threads",
            "4",
            "--timeout",
            "120",
        ],
        "worker": [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--queues",
            "default,render",
            "--concurrency",
            str(args.renders),
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ],
    }
    processes = []
    for name, command in commands.items():
        with open(logs / f"{name}.log", "w") as log:
            processes.append(subprocess.Popen(command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT))
    return processes, logs


def _wait_for_web(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/api/schema/")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the web server did not start; see its log")


class RenderKeeper(threading.Thread):
    """Keeps `count` renders queued or running for the whole load, submitting a new one as each finishes."""

    def __init__(self, client: Client, portrait: str, count: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.client, self.portrait, self.count, self.stop = client, portrait, count, stop
        self.in_flight: list[str] = []
        self.finished: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    def submit(self) -> None:
        body = json.dumps(
            {"portrait": self.portrait, "purpose": "marketing", "text": RENDER_TEXT, "language": "en"}
        ).encode()
        status, answer = self.client.request("POST", "/api/renders/", body, "application/json")
        if status != 202:
            raise SystemExit(f"could not submit a render: {status} {answer[:300]!r}")
        with self.lock:
            self.in_flight.append(json.loads(answer)["id"])

    def ids(self) -> list[str]:
        with self.lock:
            return list(self.in_flight)

    def run(self) -> None:
        while not self.stop.is_set():
            for render_id in self.ids():
                status, answer = self.client.request("GET", f"/api/renders/{render_id}/")
                state = json.loads(answer)["status"] if status == 200 else "unknown"
                if state in ("done", "failed", "cancelled"):
                    self.finished[state] += 1
                    with self.lock:
                        self.in_flight.remove(render_id)
                    self.submit()
            self.stop.wait(1.0)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def main() -> int:
    args = _arguments()
    data_dir = Path(tempfile.mkdtemp(prefix="candor-load-"))
    env = _environment(data_dir, args)
    os.environ.update(
        {
            key: env[key]
            for key in ("DJANGO_SETTINGS_MODULE", "CANDOR_DATA_DIR", "CANDOR_LOCAL_HTTP", "DEBUG", "ALLOWED_HOSTS")
        }
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env=env, cwd=REPO, check=True)
    sys.path.insert(0, str(REPO))
    token, portrait = _creator_with_consented_portrait()
    from django.conf import settings

    processes, logs = _start_stack(env, args)
    stop = threading.Event()
    try:
        _wait_for_web(args.port)
        keeper = RenderKeeper(Client(args.port, token), portrait, args.renders, stop)
        for _ in range(args.renders):
            keeper.submit()
        keeper.start()
        clip_body, clip_type = _multipart("video", "clip.mp4", _clip())
        latencies: dict[str, list[float]] = defaultdict(list)
        codes: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        failures: dict[str, int] = defaultdict(int)
        lock = threading.Lock()
        deadline = time.monotonic() + args.duration

        def client_loop(index: int) -> None:
            client = Client(args.port, token)
            turn = 0
            while time.monotonic() < deadline:
                turn += 1
                verify = (turn * 7919 + index) % 1000 < args.verify_share * 1000
                kind = "verify" if verify else "status"
                started = time.perf_counter()
                try:
                    if verify:
                        status, _ = client.request("POST", "/api/verify/", clip_body, clip_type, auth=False)
                    else:
                        ids = keeper.ids()
                        status, _ = client.request("GET", f"/api/renders/{ids[turn % len(ids)]}/")
                except (OSError, http.client.HTTPException):
                    with lock:
                        failures[kind] += 1
                    continue
                elapsed = time.perf_counter() - started
                with lock:
                    latencies[kind].append(elapsed)
                    codes[kind][status] += 1

        started = time.monotonic()
        threads = [threading.Thread(target=client_loop, args=(index,)) for index in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - started
        stop.set()
        running_at_end = len(keeper.ids())
    finally:
        stop.set()
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

    locked = sum(path.read_text(errors="replace").count("database is locked") for path in logs.glob("*.log"))
    print(f"machine: {machine_describe()}")
    print(
        f"mode: database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, broker "
        f"{settings.CELERY_BROKER_URL.split(':', 1)[0]}, "
        f"gunicorn {args.web_workers}x4 threads, worker concurrency {args.renders}"
    )
    print(
        f"load: {args.clients} clients for {wall:.1f} s, {args.verify_share:.0%} verifier; renders kept running: "
        f"{args.renders} "
        f"(finished during the run: {dict(keeper.finished) or 'none'}, in flight at the end: {running_at_end})"
    )
    total_errors = 0
    for kind in ("status", "verify"):
        values = latencies[kind]
        throttled = codes[kind].get(429, 0)
        errors = sum(count for code, count in codes[kind].items() if code >= 400 and code != 429) + failures[kind]
        total_errors += errors
        print(
            f"{kind:>7}: {len(values)} requests, {len(values) / wall:.1f}/s, p50 "
            f"{_percentile(values, 0.50) * 1000:.0f} ms, "
            f"p95 {_percentile(values, 0.95) * 1000:.0f} ms, p99 {_percentile(values, 0.99) * 1000:.0f} ms, "
            f"errors {errors}, throttled (429) {throttled}, codes {dict(codes[kind])}"
        )
    print(f"'database is locked' in server logs: {locked}")
    if args.keep_data:
        print(f"data and logs: {data_dir}")
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 1 if total_errors or locked else 0


if __name__ == "__main__":
    sys.exit(main())
