"""The suite runs in pytest-xdist workers (`make test`): each worker keeps its own keys in the Redis
database they all share, and a selection runs in one process as given."""

import os
import subprocess
import sys
import uuid

from django.core.cache import cache

import scripts.dev as dev
from tests.reliability.conftest import ROOT

_SET = "from django.core.cache import cache; cache.set({key!r}, {value!r}, 60)"
_GET = "from django.core.cache import cache; print(cache.get({key!r}))"


def _in_worker(worker: str, code: str) -> str:
    """Run `code` in a new Django process that pytest-xdist started as `worker`."""
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        cwd=ROOT,
        env={**os.environ, "PYTEST_XDIST_WORKER": worker},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_a_worker_never_reads_another_workers_keys():
    key = f"probe-{uuid.uuid4().hex}"
    _in_worker("gw7", _SET.format(key=key, value="written by gw7"))

    assert _in_worker("gw7", _GET.format(key=key)) == "written by gw7"
    assert _in_worker("gw8", _GET.format(key=key)) == "None"
    assert cache.get(key) is None  # this process, whichever worker it is (or none)


def test_the_whole_suite_runs_in_workers_and_a_selection_as_given(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert dev._test_workers([]) == ["-n", "2"]
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert dev._test_workers([]) == ["-n", "4"]
    assert dev._test_workers(["-k", "auth", "-x"]) == ["-k", "auth", "-x"]
