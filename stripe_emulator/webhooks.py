"""Signed webhook delivery with retries, one ordered worker per endpoint."""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.request


def sign(payload, secret, timestamp=None):
    """``Stripe-Signature`` header value: ``t=<unix>,v1=<hex HMAC-SHA256(secret, "t.payload")>``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class Dispatcher:
    """Receives new events (as a state listener) and delivers them in the background.

    First attempts go out in event creation order per endpoint; failed ones are retried
    with exponential backoff (``retry_base * 2**(attempt-1)`` seconds) up to ``max_attempts``.
    """

    def __init__(self, retry_base=5.0, max_attempts=5, timeout=10.0):
        self.retry_base = retry_base
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.cond = threading.Condition()
        self.log = []
        self._pending_first = {}  # event id -> endpoints whose first attempt is still due
        self._workers = {}
        self._stopped = False

    def __call__(self, event, endpoints):
        """Queue ``event`` for each matching endpoint (called under the state lock)."""
        if not endpoints:
            return
        # Stripe sends the event pretty-printed; the signature covers these exact bytes.
        body = json.dumps(event, indent=2)
        with self.cond:
            self._pending_first[event["id"]] = len(endpoints)
            for endpoint in endpoints:
                worker = self._workers.get(endpoint["id"])
                if worker is None:
                    worker = self._workers[endpoint["id"]] = _Worker(self)
                worker.push(
                    {
                        "event": event["id"],
                        "type": event["type"],
                        "endpoint": endpoint["id"],
                        "url": endpoint["url"],
                        "secret": endpoint["_secret"],
                        "body": body,
                        "attempt": 1,
                    }
                )
            self.cond.notify_all()

    def wait_first_attempts(self, event_ids, timeout=30.0):
        """Block until the first delivery attempt of each event has finished (or timeout)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while any(e in self._pending_first for e in event_ids):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True

    def wait_idle(self, timeout=30.0):
        """Block until no delivery (first attempt or retry) is queued."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while any(w.busy() for w in self._workers.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.05))
        return True

    def records(self):
        """Copy of the delivery log."""
        with self.cond:
            return [dict(r) for r in self.log]

    def clear(self):
        """Drop queued deliveries and the log (emulator reset)."""
        with self.cond:
            for worker in self._workers.values():
                worker.queue.clear()
                worker.retries.clear()
            self._pending_first.clear()
            self.log.clear()
            self.cond.notify_all()

    def stop(self):
        """Stop all workers."""
        with self.cond:
            self._stopped = True
            self.cond.notify_all()

    def _deliver(self, job):
        timestamp = int(time.time())
        request = urllib.request.Request(
            job["url"],
            data=job["body"].encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": sign(job["body"], job["secret"], timestamp),
            },
        )
        status, error = None, None
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code}"
        except Exception as exc:  # noqa: BLE001 - any failure is a failed attempt, logged
            error = f"{type(exc).__name__}: {exc}"
        ok = status is not None and 200 <= status < 300
        now, retry_at = time.time(), None
        if not ok and job["attempt"] < self.max_attempts:
            retry_at = now + self.retry_base * 2 ** (job["attempt"] - 1)
        with self.cond:
            self.log.append(
                {
                    "event": job["event"],
                    "type": job["type"],
                    "endpoint": job["endpoint"],
                    "url": job["url"],
                    "attempt": job["attempt"],
                    "status": status,
                    "error": error,
                    "time": now,
                    "next_retry_at": retry_at,
                }
            )
            if job["attempt"] == 1 and job["event"] in self._pending_first:
                self._pending_first[job["event"]] -= 1
                if self._pending_first[job["event"]] <= 0:
                    del self._pending_first[job["event"]]
            self.cond.notify_all()
        return retry_at


class _Worker:
    _seq = itertools.count()

    def __init__(self, dispatcher):
        self.dispatcher = dispatcher
        self.queue = []  # first attempts, FIFO
        self.retries = []  # heap of (due, seq, job)
        self.active = False
        threading.Thread(target=self._run, daemon=True, name="stripe-emulator-webhooks").start()

    def push(self, job):
        self.queue.append(job)

    def busy(self):
        return bool(self.queue or self.retries or self.active)

    def _next_job(self):
        cond = self.dispatcher.cond
        with cond:
            while not self.dispatcher._stopped:
                now = time.time()
                if self.retries and self.retries[0][0] <= now:
                    self.active = True
                    return heapq.heappop(self.retries)[2]
                if self.queue:
                    self.active = True
                    return self.queue.pop(0)
                cond.wait(self.retries[0][0] - now if self.retries else None)
            return None

    def _run(self):
        while True:
            job = self._next_job()
            if job is None:
                return
            retry_at = self.dispatcher._deliver(job)
            with self.dispatcher.cond:
                if retry_at is not None:
                    heapq.heappush(
                        self.retries,
                        (retry_at, next(self._seq), {**job, "attempt": job["attempt"] + 1}),
                    )
                self.active = False
                self.dispatcher.cond.notify_all()
