"""Orchestrator-ready (issue 20): the probes /health/live and /health/ready, and SIGTERM drains
gunicorn (a request in flight completes, then the server exits) and stops a Celery worker
warmly (the task it runs finishes)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import pytest
from django.db import connection

from billing_project import health
from tests.conftest import DEMO_PASSWORD
from tests.reliability.conftest import celery_worker, gunicorn_server, server_environment

pytestmark = pytest.mark.django_db


@pytest.fixture
def migrations_unknown(monkeypatch):
    # The per-process memo that migrations are done: each test finds out again.
    monkeypatch.setattr(health, "_migrations_done", False)


def test_live_answers_without_asking_any_dependency(api_client, settings):
    settings.DATABASES = {
        "default": {**settings.DATABASES["default"], "HOST": "127.0.0.1", "PORT": "1"}
    }
    response = api_client.get("/health/live")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_ready_when_the_database_and_redis_answer_and_every_migration_is_applied(
    api_client, migrations_unknown
):
    response = api_client.get("/health/ready")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"] == {"database": "ok", "redis": "ok", "migrations": "ok"}
    assert api_client.get("/health/ready", HTTP_HOST="acme.localhost").status_code == 200


def test_not_ready_while_a_migration_is_pending(api_client, migrations_unknown):
    # As after a deploy of new code whose migrate_schemas has not run yet (rolled back after the test).
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM public.django_migrations WHERE id = "
            "(SELECT max(id) FROM public.django_migrations WHERE app = 'invoicing')"
        )
    response = api_client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "error: 1 pending"
    assert api_client.get("/health/live").status_code == 200


def test_not_ready_while_the_database_is_unreachable(api_client, settings, migrations_unknown):
    settings.DATABASES = {
        "default": {**settings.DATABASES["default"], "HOST": "127.0.0.1", "PORT": "1"}
    }
    response = api_client.get("/health/ready")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"].startswith("error") and checks["migrations"] == "unknown"


def _send_half_a_login(port: int) -> tuple[socket.socket, bytes]:
    body = json.dumps({"email": "owner@acme.test", "password": DEMO_PASSWORD}).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body[:10]
    )
    return sock, body[10:]


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.live
def test_sigterm_lets_the_request_in_flight_complete(tmp_path):
    with gunicorn_server(tmp_path, workers=1) as server:
        sock, rest = _send_half_a_login(server.port)
        time.sleep(1)  # the worker is inside the request, reading its body
        server.process.send_signal(signal.SIGTERM)
        time.sleep(1)
        assert server.process.poll() is None  # draining: waits for the request
        sock.sendall(rest)
        answer = _read_all(sock)
        sock.close()
        server.process.wait(timeout=30)
    status_line, _, rest_of_answer = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 200"), answer[:500]
    assert b'"access_token"' in rest_of_answer
    assert server.process.returncode == 0, server.log_text()[-3000:]


@pytest.mark.live
def test_sigterm_lets_the_celery_task_in_flight_finish(tmp_path):
    """A rolling deploy stops a worker mid-task: SIGTERM is Celery's warm shutdown, so the task it
    runs completes (and is acknowledged) before the worker exits 0."""
    queue = f"warm-stop-{uuid.uuid4().hex[:12]}"
    broker = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    env = server_environment(CELERY_QUEUE=queue, CELERY_BROKER_URL=broker, LOG_LEVEL="INFO")
    marker = tmp_path / "task"
    with celery_worker(
        tmp_path,
        "-I",
        "tests.reliability.celery_sleep",
        CELERY_QUEUE=queue,
        CELERY_BROKER_URL=broker,
    ) as (worker, log_path):
        # Sent from a process of its own, as the web node would: this test process's broker is
        # `memory://` (make test), and Celery's CELERY_BROKER_URL variable wins over its argument.
        sender = (
            "import sys; from celery import Celery\n"
            "with Celery(broker=sys.argv[1]) as app:\n"
            "    app.send_task('tests.reliability.sleep_then_mark', args=[4, sys.argv[3]],"
            " queue=sys.argv[2], headers={'_schema_name': 'public'})"
        )
        subprocess.run(
            [sys.executable, "-c", sender, broker, queue, str(marker)],
            env=env,
            check=True,
            timeout=60,
        )
        deadline = time.monotonic() + 30
        while not marker.with_suffix(".started").exists():
            assert worker.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=60)
    text = log_path.read_text(errors="replace")
    assert marker.with_suffix(".done").exists(), text[-3000:]
    assert "succeeded" in text and "sleep_then_mark" in text, text[-3000:]
    assert code == 0, text[-3000:]
