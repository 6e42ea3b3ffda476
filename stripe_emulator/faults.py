"""Fault injection: make the next requests fail the ways real Stripe and real networks do.

A fault matches requests by path (``fnmatch`` pattern, e.g. ``/v1/subscriptions*``) and optionally
by method, and fires for the next ``count`` matching requests. What it does:

- ``status`` (409, 429 or 5xx): answer that status with Stripe's error object (409 ``lock_timeout``,
  429 ``rate_limit``, 5xx ``api_error``) *instead of* doing the work;
- ``delay`` (seconds): wait first, e.g. longer than the client's timeout ("Stripe hangs"); with
  neither ``status`` nor ``after`` the request then runs normally (slow but applied);
- ``after: true`` ("apply then fail"): the request is executed and its result stored under its
  Idempotency-Key as usual, then the response is lost: ``delay`` is waited *after* the work and
  ``status`` replaces the real answer. Only the Idempotency-Key of a retry can then avoid doing the
  work twice, which is exactly what this mode is for.

Each fault keeps ``fired`` (how many requests it hit); ``EmulatorServer.faults()`` lists them.
"""

from __future__ import annotations

import fnmatch
import threading

from .errors import StripeError

_FIELDS = {"path", "method", "status", "delay", "count", "after"}


def fault_spec(path, *, method=None, status=None, delay=None, count=1, after=False):
    """A validated fault dict (raises ValueError on a fault that could never do anything)."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError("A fault needs a 'path' pattern starting with '/'")
    if status is None and not delay:
        raise ValueError("A fault needs 'status' or 'delay'")
    if status is not None and (
        not isinstance(status, int)
        or isinstance(status, bool)
        or not (status in (409, 429) or 500 <= status <= 599)
    ):
        raise ValueError("'status' is 409, 429 or 500-599")
    if delay is not None and (
        isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0
    ):
        raise ValueError("'delay' is a number of seconds")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError("'count' is a positive integer")
    if method is not None and method not in ("GET", "POST", "DELETE"):
        raise ValueError("'method' is GET, POST or DELETE")
    return {
        "path": path,
        "method": method,
        "status": status,
        "delay": float(delay) if delay else None,
        "count": count,
        "after": bool(after),
        "fired": 0,
    }


def fault_from_json(payload):
    """A fault from the control API's JSON body (unknown keys refused)."""
    if not isinstance(payload, dict):
        raise ValueError("A fault is a JSON object")
    unknown = set(payload) - _FIELDS
    if unknown:
        raise ValueError(f"Unknown fault fields: {sorted(unknown)}")
    if "path" not in payload:
        raise ValueError("A fault needs 'path' and 'status' or 'delay'")
    return fault_spec(
        payload["path"],
        method=payload.get("method"),
        status=payload.get("status"),
        delay=payload.get("delay"),
        count=payload.get("count", 1),
        after=payload.get("after", False),
    )


def take(faults, method, path):
    """The first armed fault matching the request, used up by one (caller holds the state lock)."""
    for fault in faults:
        if (
            fault["count"] > 0
            and fnmatch.fnmatchcase(path, fault["path"])
            and fault.get("method") in (None, method)
        ):
            fault["count"] -= 1
            fault["fired"] = fault.get("fired", 0) + 1
            return dict(fault)
    return None


def fault_response(status):
    """``(status, body)`` of an injected (or internal) failure, shaped as Stripe's error object."""
    if status == 409:
        err = StripeError(
            409,
            "This object cannot be accessed right now because another API request or Stripe "
            "process is currently accessing it. Please retry.",
            code="lock_timeout",
        )
    elif status == 429:
        err = StripeError(
            429,
            "Too many requests hit the API too quickly. We recommend an exponential "
            "backoff of your requests.",
            code="rate_limit",
        )
    else:
        err = StripeError(status, "An unknown error occurred", type="api_error")
    return status, err.to_dict()


class InFlight:
    """Counts API requests being served, so a test can wait for hung (faulted) requests to finish
    before it inspects the state, without sleeping for a guessed time."""

    def __init__(self):
        self._count = 0
        self._cond = threading.Condition()

    def __enter__(self):
        with self._cond:
            self._count += 1
        return self

    def __exit__(self, *exc):
        with self._cond:
            self._count -= 1
            self._cond.notify_all()
        return False

    def wait_idle(self, timeout):
        """True once no request is in flight, False after ``timeout`` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: self._count == 0, timeout)
