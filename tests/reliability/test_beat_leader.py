"""One beat leader (issue 20): two `celery beat` processes on the same database and Redis (a rolling
deploy, or one beat per node) never send a job twice; when the leader stops, the standby takes over
without sending again what the leader sent in the same period.

The lease itself (billing_project.leader) is tested in-process below, the processes after it.
"""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import datetime

import pytest
import redis

from billing_project.leader import LeaderLease
from tests.reliability.conftest import ROOT, server_environment

PERIOD = 4  # seconds: every entry is due this often (BEAT_EVERY_SECONDS)
LEASE = 6  # seconds (BEAT_LEADER_LEASE_SECONDS)
START_LIMIT = 90  # seconds for a beat to import Django and send its first jobs on a loaded machine

LINE = re.compile(
    r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): \w+/\w+\] .*?"
    r"Sending due task (\S+) \(([\w.]+)\) to (?:all tenants|public)"
)


# --- the lease ------------------------------------------------------------------------------------


def test_one_process_holds_the_lease_and_a_standby_takes_it_after_a_release():
    name = f"test-{uuid.uuid4().hex[:8]}"
    first, second = LeaderLease(name, ttl=30), LeaderLease(name, ttl=30)

    assert first.hold() is True
    assert second.hold() is False
    assert first.hold() is True  # renewing its own lease
    assert second.hold() is False

    first.release()
    assert second.hold() is True
    assert first.hold() is False


def test_a_leader_that_stops_renewing_is_replaced_when_its_lease_expires():
    name = f"test-{uuid.uuid4().hex[:8]}"
    first, second = LeaderLease(name, ttl=1), LeaderLease(name, ttl=1)
    assert first.hold() is True
    assert second.hold() is False
    time.sleep(1.3)  # the leader hung (no hold() within ttl): the lease expired
    assert second.hold() is True
    # The old leader cannot renew the lease the new one holds; it learns it lost it.
    assert first.hold() is False
    assert second.hold() is True


def test_nobody_leads_while_redis_is_unreachable():
    closed_port = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    lease = LeaderLease(f"test-{uuid.uuid4().hex[:8]}", ttl=30, client=closed_port)
    assert lease.hold() is False
    lease.release()  # harmless


# --- two beat processes ---------------------------------------------------------------------------


def _start_beat(env, log_path):
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "billing_project", "beat", "-l", "info"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, log


def _sends(log_path):
    """(entry name, time) of every send in the log of one beat."""
    sends = []
    for line in log_path.read_text(errors="replace").splitlines():
        match = LINE.search(line)
        if match:
            when = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")
            sends.append((match.group(2), when))
    return sends


def _wait(predicate, limit, processes):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for process, path in processes:
            assert process.poll() is None, f"beat exited:\n{path.read_text()[-4000:]}"
        if predicate():
            return True
        time.sleep(0.5)
    return False


def _stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # beat's warm stop: saves, closes, releases the lease
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.live
@pytest.mark.django_db
def test_two_beats_send_every_job_once_and_the_standby_takes_over_when_the_leader_stops(
    tmp_path,
):
    from billing_project.celery import app

    queue = f"beat-leader-{uuid.uuid4().hex[:12]}"
    broker = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    env = server_environment(
        BEAT_EVERY_SECONDS=str(PERIOD),
        BEAT_LEADER_LEASE_SECONDS=str(LEASE),
        LOG_LEVEL="INFO",
        CELERY_BROKER_URL=broker,
        CELERY_QUEUE=queue,  # sends go to a queue of this test's own (no worker reads it)
    )
    entries = {f"{name}@" for name in app.conf.beat_schedule}
    logs = [tmp_path / "beat-1.log", tmp_path / "beat-2.log"]
    beats = [_start_beat(env, path) for path in logs]
    watched = [(process, path) for (process, _), path in zip(beats, logs, strict=True)]
    try:
        # Both run; within a few periods the leader has sent every entry at least twice.
        def every_entry_twice():
            names = [name for path in logs for name, _ in _sends(path)]
            return all(sum(name.startswith(prefix) for name in names) >= 2 for prefix in entries)

        assert _wait(every_entry_twice, START_LIMIT, watched), [
            path.read_text()[-3000:] for path in logs
        ]
        senders = [index for index, path in enumerate(logs) if _sends(path)]
        assert len(senders) == 1, "both beats sent jobs: " + repr(
            [_sends(path)[:5] for path in logs]
        )
        leader, standby = senders[0], 1 - senders[0]
        before = len(_sends(logs[leader]))

        # A rolling deploy stops the leader; the standby sends from then on.
        _stop(beats[leader][0])
        assert _wait(
            lambda: len(_sends(logs[standby])) >= len(entries),
            LEASE + 5 * PERIOD,
            [watched[standby]],
        ), logs[standby].read_text()[-4000:]
        assert len(_sends(logs[leader])) >= before
    finally:
        for process, log in beats:
            _stop(process)
            log.close()
        redis.Redis.from_url(broker).delete(queue)

    # No entry was sent twice within one period: not by two leaders at once, and not by the new
    # leader right after the takeover (it read the last runs the old leader saved).
    by_entry = defaultdict(list)
    for path in logs:
        for name, when in _sends(path):
            by_entry[name].append(when)
    for name, times in by_entry.items():
        times.sort()
        gaps = [
            (later - earlier).total_seconds()
            for earlier, later in zip(times, times[1:], strict=False)
        ]
        assert all(gap >= PERIOD - 1 for gap in gaps), f"{name} sent twice in a period: {gaps}"
