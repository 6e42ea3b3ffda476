"""Test code on database connections of its own: what it writes is committed (the test's own
transaction never is), and several such pieces meet as really concurrent transactions.

    count = committed(lambda: Wallet.objects.count())   # one thread, its own connection, committed
    at_once(top_up, top_up, apply, apply)             # threads released together by one barrier

Each piece runs on a thread of its own and closes that thread's connections when done. Tests that
use them work in a committed tenant and remove their committed rows afterwards (with `committed`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connections

T = TypeVar("T")

# Only a guard against a hung thread (a lock never released): a run that takes longer is reported
# as stuck instead of blocking the test session forever. Never a measure of speed.
STUCK_AFTER_SECONDS = 300


def _run(works: tuple[Callable[[], Any], ...]) -> tuple[list[Any], list[BaseException]]:
    barrier = threading.Barrier(len(works))
    results: list[Any] = [None] * len(works)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(index: int, work: Callable[[], Any]) -> None:
        try:
            barrier.wait(STUCK_AFTER_SECONDS)
            results[index] = work()
        except BaseException as exc:  # reported on the test's thread
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(index, work), name=f"at-once-{index}")
        for index, work in enumerate(works)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + STUCK_AFTER_SECONDS
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [thread.name for thread in threads if thread.is_alive()]
    if stuck:
        raise AssertionError(f"still running after {STUCK_AFTER_SECONDS} s: {stuck}")
    return results, errors


def at_once(*works: Callable[[], Any]) -> list[Any]:
    """Run every work on a thread and database connection of its own, all released at the same
    instant by a barrier; return their results in order. Any exception fails the caller, listing
    every one (the first chained as the cause)."""
    results, errors = _run(works)
    if errors:
        raise AssertionError([repr(error) for error in errors]) from errors[0]
    return results


def committed(work: Callable[[], T]) -> T:
    """Run `work` on a connection of its own (autocommit, outside the test's transaction) and
    return its result; its exception is raised here as it is."""
    results, errors = _run((work,))
    if errors:
        raise errors[0]
    return results[0]
