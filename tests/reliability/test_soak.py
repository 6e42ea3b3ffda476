"""Soak: the real supervisor (scripts/dev.py serve: gunicorn + celery worker + beat, as `make run`
starts them after its setup) on the session's test database, with beat's time compressed
(BEAT_EVERY_SECONDS: every periodic entry, the daily ones included, and the 5-minute re-sync from the
database run every PERIOD seconds), stopped with Ctrl-C, started again, stopped again.

What it asserts, from the processes' own log lines:
- both runs exit 0 after Ctrl-C and no process died meanwhile (issue 14: beat died at its first
  re-sync, and at once on every restart, with "duplicate periodic task name");
- in each run beat read its schedule again from the database at least once after the initial read,
  and every job of app.conf.beat_schedule was executed by the worker for every schema it targets;
- no job ran twice for the same period: consecutive sends of one entry are at least PERIOD apart,
  across the restart too (beat saved when each entry last ran before stopping), and the worker ran
  each sent task once, never more tasks than beat sent (one per tenant, or one in public).
"""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime

import pytest
import requests

from tests.reliability.conftest import ROOT, _free_port, server_environment

pytestmark = [pytest.mark.django_db, pytest.mark.live]

PERIOD = 15  # seconds; longer than the gap of a Ctrl-C + restart, so a re-run after it is visible
RUN_LIMIT = 150  # seconds one run may take to show every job (two cores shared with the rest of CI)

LINE_TIME = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): ")
# tenant-schemas-celery's line for entries of every tenant, billing_project.beat's for public ones
SENT = re.compile(r"Sending due task (\S+) \(([\w.]+)\) to (?:all tenants|public)")
SUCCEEDED = re.compile(r"Task ([\w.]+)\[([0-9a-f-]+)\] succeeded")
FAILED = re.compile(r"Task ([\w.]+)\[([0-9a-f-]+)\] (raised|failed|retry)")
RESYNC = "beat: schedule read from the database"


def _expected_jobs():
    from billing_project.celery import app
    from tenants.models import Tenant

    tenants = Tenant.objects.count()  # the session's committed tenants (acme, globex)
    return {
        entry["task"]: (1 if entry.get("tenant_schemas") == ["public"] else tenants)
        for entry in app.conf.beat_schedule.values()
    }


def _run_until(env, log_path, *, done, probe=None) -> tuple[int, str]:
    """Start `dev.py serve`, wait until done(log) is true, call probe(), press Ctrl-C; its exit code
    and log."""
    with open(log_path, "wb") as log:
        # Its own process group, as a terminal's foreground job: Ctrl-C is SIGINT to that group.
        process = subprocess.Popen(
            [sys.executable, "scripts/dev.py", "serve"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + RUN_LIMIT
            while time.monotonic() < deadline and process.poll() is None:
                if done(log_path.read_text(errors="replace")):
                    break
                time.sleep(1)
            died_early = process.poll() is not None
            if not died_early:
                if probe is not None:
                    probe()
                os.killpg(process.pid, signal.SIGINT)
            code = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    text = log_path.read_text(errors="replace")
    assert not died_early, f"the supervisor stopped by itself (code {code}):\n{text[-6000:]}"
    return code, text


def _succeeded(text):
    return Counter(task for task, _ in SUCCEEDED.findall(text))


def _all_ran(expected):
    def done(text):
        ran = _succeeded(text)
        return text.count(RESYNC) >= 2 and all(
            ran[task] >= count for task, count in expected.items()
        )

    return done


def _sends(text):
    """(entry name, task, time) of every beat send, in order."""
    sends = []
    for line in text.splitlines():
        when, sent = LINE_TIME.match(line), SENT.search(line)
        if when and sent:
            sends.append(
                (
                    sent.group(1),
                    sent.group(2),
                    datetime.strptime(when.group(1), "%Y-%m-%d %H:%M:%S,%f"),
                )
            )
    return sends


def _web_is_the_production_server(base_url):
    """What `make run` serves through: gunicorn (not runserver), DEBUG off unless asked for."""
    api = requests.get(base_url + "/api/v1/", timeout=60)
    assert api.headers.get("Server", "").startswith("gunicorn"), api.headers.get("Server")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    page = requests.get(base_url + "/", timeout=60)
    assert page.status_code == 404 and "URLconf" not in page.text and "Page not found" in page.text


def test_make_run_processes_survive_beat_resyncs_ctrl_c_and_a_restart_without_running_a_job_twice(
    tmp_path,
):
    expected = _expected_jobs()
    port = _free_port()
    env = server_environment(
        PORT=str(port),
        BEAT_EVERY_SECONDS=str(PERIOD),
        LOG_LEVEL="INFO",
        # worker and beat are other processes: a real broker, and a queue of this test's own
        CELERY_BROKER_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        CELERY_QUEUE=f"soak-{uuid.uuid4().hex[:12]}",
        WEB_CONCURRENCY="1",
        WORKER_CONCURRENCY="1",
    )
    env.pop("DEBUG")  # the supervisor's own default

    runs = []
    for number in (1, 2):
        probe = (
            (lambda: _web_is_the_production_server(f"http://127.0.0.1:{port}"))
            if number == 1
            else None
        )
        code, text = _run_until(
            env, tmp_path / f"run{number}.log", done=_all_ran(expected), probe=probe
        )
        runs.append(text)
        assert code == 0, f"run {number}: exit code {code}:\n{text[-6000:]}"
        assert "exited with code" not in text, f"run {number}: a process died:\n{text[-6000:]}"
        assert "Ctrl-C stops everything" in text, f"run {number}: no banner once /health answered"
        assert "duplicate periodic task name" not in text, text[-6000:]
        assert text.count(RESYNC) >= 2, (
            f"run {number}: no re-sync of beat's schedule:\n{text[-6000:]}"
        )
        ran = _succeeded(text)
        missing = {
            task: (ran[task], count) for task, count in expected.items() if ran[task] < count
        }
        assert not missing, f"run {number}: jobs not run (runs, schemas): {missing}\n{text[-6000:]}"
        assert not FAILED.findall(text), f"run {number}: failed tasks:\n{text[-6000:]}"

    everything = "\n".join(runs)
    sends = _sends(everything)
    by_entry = defaultdict(list)
    for entry, _, when in sends:
        by_entry[entry].append(when)
    for entry, times in by_entry.items():
        gaps = [
            (later - earlier).total_seconds()
            for earlier, later in zip(times, times[1:], strict=False)
        ]
        assert all(gap >= PERIOD - 1 for gap in gaps), (
            f"{entry} sent again within one period: gaps {gaps}"
        )

    ids = Counter(task_id for _, task_id in SUCCEEDED.findall(everything))
    assert all(count == 1 for count in ids.values()), "a task ran twice: " + repr(
        [task_id for task_id, count in ids.items() if count > 1]
    )
    sent_per_task = Counter(task for _, task, _ in sends)
    ran = _succeeded(everything)
    for task, schemas in expected.items():
        assert ran[task] <= sent_per_task[task] * schemas, (
            task,
            ran[task],
            sent_per_task[task],
            schemas,
        )
