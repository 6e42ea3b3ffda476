"""/metrics under gunicorn with several workers (config/gunicorn.conf.py, PROMETHEUS_MULTIPROC_DIR): every
scrape reports the sum over all workers, whichever worker answers it."""

import http.client
import os
import runpy
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from prometheus_client.parser import text_string_to_metric_families

from scripts.dev import free_port, port_open

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "config" / "gunicorn.conf.py"
ENDPOINT = (
    "/api/v1/plans"  # public, and its rows come from migrations: committed, so visible to gunicorn
)
BATCH = 8  # requests sent at once: a sync worker serves one at a time, so the others go elsewhere
# Batches go on until both workers have served one. A worker still booting on a busy machine, or one
# that drains every batch alone (the plan catalog is answered from memory), would otherwise end the
# loop early: a guard against a hang, not a timing assertion.
WAIT_FOR_BOTH_SECONDS = 120


def _get(port: int, path: str) -> tuple[int, str]:
    # A fresh connection per request: the kernel hands each one to whichever worker accepts first.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": "localhost"})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def _requests_counted(metrics_text: str, endpoint: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        if family.name == "billing_api_requests":
            return sum(
                sample.value
                for sample in family.samples
                if sample.name == "billing_api_requests_total"
                and sample.labels == {"method": "GET", "endpoint": endpoint, "status": "200"}
            )
    return 0.0


def _database_url() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]  # pytest-django has switched NAME to the test database
    auth = quote(db["USER"] or "", safe="") + (
        ":" + quote(db["PASSWORD"], safe="") if db.get("PASSWORD") else ""
    )
    return f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _served_by(access_log: Path, path: str) -> set[str]:
    return {
        line.split()[0]
        for line in access_log.read_text().splitlines()
        if line.split()[1:2] == [path]
    }


@pytest.fixture
def gunicorn(tmp_path):
    if os.name != "posix":
        pytest.skip("gunicorn needs a POSIX system")
    pytest.importorskip("gunicorn", reason="gunicorn is not installed")
    port, access_log, output = free_port(), tmp_path / "access.log", tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    for name in ("GUNICORN_CMD_ARGS", "GUNICORN_BIND", "WEB_CONCURRENCY"):
        env.pop(name, None)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(GUNICORN_CONF),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--access-logfile",
        str(access_log),
        "--access-logformat",
        "%(p)s %(U)s %(s)s",
    ]
    with output.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while not port_open("127.0.0.1", port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"gunicorn did not start (exit {process.poll()}):\n{output.read_text()[-3000:]}"
                )
            time.sleep(0.1)
        yield SimpleNamespace(port=port, access_log=access_log, output=output)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# The marker makes pytest-django create the test database gunicorn's workers use.
@pytest.mark.django_db
def test_metrics_sum_the_requests_of_every_gunicorn_worker(gunicorn):
    sent = 0
    deadline = time.monotonic() + WAIT_FOR_BOTH_SECONDS
    with ThreadPoolExecutor(BATCH) as pool:
        # Until both workers have served some: a single worker's count would equal the total anyway.
        while time.monotonic() < deadline and len(_served_by(gunicorn.access_log, ENDPOINT)) < 2:
            statuses = [
                status
                for status, _ in pool.map(lambda _: _get(gunicorn.port, ENDPOINT), range(BATCH))
            ]
            assert statuses == [200] * BATCH, (
                f"{ENDPOINT}: {statuses}\n{gunicorn.output.read_text()[-3000:]}"
            )
            sent += BATCH
    assert len(_served_by(gunicorn.access_log, ENDPOINT)) == 2, (
        f"one worker served all {sent} requests"
    )

    for _ in range(6):
        status, text = _get(gunicorn.port, "/metrics")
        assert status == 200
        assert _requests_counted(text, ENDPOINT) == sent
    assert "django_http_requests_total_by_method_total" in text


def _load_config(monkeypatch, directory):
    if directory is None:
        monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    else:
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    return runpy.run_path(str(GUNICORN_CONF))


def test_gunicorn_master_empties_the_metrics_directory_on_start(tmp_path, monkeypatch):
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_4242.db").write_bytes(b"stale")
    _load_config(monkeypatch, directory)["on_starting"](None)
    assert list(directory.iterdir()) == []

    missing = tmp_path / "created"
    _load_config(monkeypatch, missing)["on_starting"](None)
    assert missing.is_dir()


def test_a_dead_worker_keeps_its_counters_and_drops_its_live_gauges(tmp_path, monkeypatch):
    for name in ("counter_4242.db", "gauge_livesum_4242.db", "gauge_livesum_4343.db"):
        (tmp_path / name).write_bytes(b"")
    _load_config(monkeypatch, tmp_path)["child_exit"](None, SimpleNamespace(pid=4242))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "counter_4242.db",
        "gauge_livesum_4343.db",
    ]

    # Without multi-process mode the hook has nothing to do (and must not fail).
    _load_config(monkeypatch, None)["child_exit"](None, SimpleNamespace(pid=4343))
    assert (tmp_path / "gauge_livesum_4343.db").exists()
