"""Fixtures of the reliability suite: the real web server (gunicorn with the production config) on
this pytest session's test database and Redis prefix.

    def test_something(live_server_url):          # "http://127.0.0.1:<port>", no trailing slash
        requests.get(live_server_url + "/api/v1/plans")

    requests.get(live_server_url + "/", headers=portal_host("acme", live_server_url))  # acme's portal

The server runs in other processes, so it sees only COMMITTED data: the session's acme/globex
tenants and their people (tests/conftest.py commits them), and whatever the test creates through
the server itself (or under `transactional_db`). Rows a plain `db` test writes stay invisible to it.

Tests that use the server are marked `live` automatically (`-m live` selects them, `-m "not live"`
skips them). `gunicorn_server(**env)` starts another server with changed environment variables (a
Redis URL on a closed port, another throttle limit...) for tests that must break a dependency without
disturbing the shared one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONFIG = ROOT / "config" / "gunicorn.conf.py"
START_TIMEOUT_SECONDS = 90  # two workers importing Django on a loaded 2-core CI machine
STOP_TIMEOUT_SECONDS = 15


def pytest_collection_modifyitems(items):
    for item in items:
        if "live_server_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.live)
            # pytest-django creates the test database only when a collected test asks for it; the
            # server needs it even when the test itself never touches the database in-process.
            if item.get_closest_marker("django_db") is None:
                item.add_marker(pytest.mark.django_db)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    """DATABASE_URL of the database pytest-django created for this session (valid after django_db_setup)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host, port, name = db.get("HOST") or "", db.get("PORT") or "", db["NAME"]
    if host.startswith("/"):  # the embedded server listens on a socket directory only
        return f"postgresql://{credentials}/{name}?host={quote(host)}" + (
            f"&port={port}" if port else ""
        )
    return (
        f"postgresql://{credentials}{host or '127.0.0.1'}{':' + str(port) if port else ''}/{name}"
    )


def portal_host(slug: str, base_url: str) -> dict:
    """Headers that make the live server serve `slug`'s portal (*.localhost does not resolve here)."""
    return {"Host": f"{slug}.localhost:{urlsplit(base_url).port}"}


class GunicornServer:
    """A gunicorn master + workers started with config/gunicorn.conf.py; `url`, `log_text()`."""

    def __init__(self, *, env: dict, workers: int, log_path: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                str(GUNICORN_CONFIG),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--graceful-timeout",
                "5",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                pytest.fail(
                    f"gunicorn exited with {self.process.returncode} before answering /health:\n"
                    f"{self.log_text()[-4000:]}"
                )
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=5) as response:
                    if response.status == 200:
                        return
            except (
                urllib.error.HTTPError
            ) as exc:  # 503: up, but a dependency is not (yet) reachable
                last = f"{exc.code} {exc.read()[:300]!r}"
            except OSError as exc:
                last = repr(exc)
            time.sleep(0.2)
        self.stop()
        pytest.fail(
            f"gunicorn did not answer /health with 200 in {START_TIMEOUT_SECONDS} s (last: {last}):\n"
            f"{self.log_text()[-4000:]}"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


def server_environment(**overrides: str) -> dict:
    """The environment of a server on this session's test database and Redis prefix: production
    settings (DEBUG off), the same SECRET_KEY as the tests (so tokens made in-process are valid)."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=test_database_url(),
        DEBUG="0",
        WEB_CONCURRENCY="2",
        PYTHONUNBUFFERED="1",
        LOG_LEVEL=os.environ.get("LIVE_SERVER_LOG_LEVEL", "WARNING"),
    )
    # Every process of the run shares one Redis prefix (dev.py test sets it); keep it explicit.
    env.setdefault("CACHE_KEY_PREFIX", "billing")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(overrides)
    return env


@contextlib.contextmanager
def gunicorn_server(tmp_dir: Path, *, workers: int = 2, **env_overrides: str):
    """Start a gunicorn server (production config) on the test database; yield it, healthy; stop it."""
    server = GunicornServer(
        env=server_environment(**env_overrides),
        workers=workers,
        log_path=Path(tmp_dir) / f"gunicorn-{time.monotonic_ns()}.log",
    )
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def gunicorn_live(django_db_setup, tmp_path_factory):
    """The shared GunicornServer of the session (started on first use, stopped at the end)."""
    with gunicorn_server(tmp_path_factory.mktemp("live-server")) as server:
        yield server


@pytest.fixture(scope="session")
def live_server_url(gunicorn_live) -> str:
    """Base URL ("http://127.0.0.1:<port>") of the real gunicorn server on the session's test database."""
    return gunicorn_live.url


WORKER_READY_SECONDS = 120  # importing Django on a loaded 2-core machine


@contextlib.contextmanager
def celery_worker(tmp_dir: Path, *extra_args: str, **env_overrides: str):
    """A Celery worker process (the production app, `extra_args` added) on the test database,
    consuming only env's CELERY_QUEUE; yields (process, log path) once it is ready, and stops it
    warmly after unless the test did (SIGKILL if it does not stop)."""
    log_path = Path(tmp_dir) / f"worker-{time.monotonic_ns()}.log"
    env = server_environment(LOG_LEVEL="INFO", **env_overrides)
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "billing_project", "worker"),
                *("-l", "info", "-Q", env["CELERY_QUEUE"], "-c", "1", *extra_args),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            # Redis drops a message sent to a queue nobody declared yet: the worker goes first.
            deadline = time.monotonic() + WORKER_READY_SECONDS
            while "ready." not in log_path.read_text(errors="replace"):
                assert worker.poll() is None, log_path.read_text()[-3000:]
                assert time.monotonic() < deadline, log_path.read_text()[-3000:]
                time.sleep(0.2)
            yield worker, log_path
        finally:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait()
