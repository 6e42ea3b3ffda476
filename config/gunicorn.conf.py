"""gunicorn settings of the web process: `gunicorn --config config/gunicorn.conf.py` (the entrypoint's
`web`, the image's default CMD). Options given on the command line still win over these.

Each worker process counts its own Prometheus series. With PROMETHEUS_MULTIPROC_DIR set,
prometheus_client's multi-process mode keeps them in files in that directory, and /metrics
(billing_project.metrics.metrics_view) sums every worker's files, whichever worker answers the
scrape. Without it, a scrape sees only the worker that answered it.

The worker class is defined here rather than in the project's packages: importing one of those
would load Django's settings and the Celery app in gunicorn's master before it forks.
"""

import errno
import os
import select
import socket

from gunicorn.http.body import LengthReader
from gunicorn.workers.sync import StopWaiting, SyncWorker
from prometheus_client import multiprocess


class ExclusiveSyncWorker(SyncWorker):
    """gunicorn's sync worker, woken alone for each new connection, and free again as soon as its
    answer is sent.

    Idle sync workers wait in select() on the one listening socket they share, and the kernel wakes
    every one of them for each connection: all but one find nothing to accept and go back to sleep.
    With 4 workers on 2 cores at 500 single-event ingests a second, that cost the workers ~75 us of
    CPU a request and the load client beside them ~25 us (issue 21). An epoll set with
    EPOLLEXCLUSIVE (Linux 4.5+) wakes one waiter per connection instead. Accepting, serving, signals
    and heartbeats stay gunicorn's; where epoll is missing, its select() is kept.

    After each answer gunicorn closes "gracefully": it sends its FIN, then waits, up to 2 seconds,
    for the client to close its side, reading and dropping what the client still sends. That wait
    matters only when the client may still be sending (a body the application did not read):
    closing with unread data makes the kernel send a reset, which can destroy the answer before the
    client reads it. Otherwise it only holds the worker: a client that reads its answer and keeps
    its socket open (a pool that closes lazily, a slow or hostile client) kept one of `make run`'s
    three workers from every other request for 2 s. So, as nginx's `lingering_close on` does, the
    wait is kept only when the request's body was not read to its end or more bytes are waiting."""

    def run(self):
        # In the worker, after the fork: the listeners and the signal wake-up pipe are its own.
        self._poller = None
        if hasattr(select, "EPOLLEXCLUSIVE"):
            self._poller = select.epoll()
            for listener in self.sockets:
                self._poller.register(listener.fileno(), select.EPOLLIN | select.EPOLLEXCLUSIVE)
            self._poller.register(self.PIPE[0], select.EPOLLIN)
            self._by_fd = {listener.fileno(): listener for listener in self.sockets}
            self._by_fd[self.PIPE[0]] = self.PIPE[0]
        super().run()

    def handle_request(self, listener, req, client, addr):
        super().handle_request(listener, req, client, addr)
        if _read_to_the_end(req) and not _more_waiting(client):
            # Shut the reading side: gunicorn's graceful close (after this returns) then finds
            # the client's end at once instead of waiting for it.
            try:
                client.shutdown(socket.SHUT_RD)
            except OSError:  # the client is gone already: gunicorn's close has nothing to wait for
                pass

    def wait(self, timeout):
        """gunicorn's wait, on the epoll set: the ready listeners (and the pipe when a signal
        arrived), or None after `timeout` seconds of nothing. A signal interrupts the poll through
        the pipe (signal.set_wakeup_fd); the poll itself is retried on EINTR (PEP 475)."""
        if self._poller is None:
            return super().wait(timeout)
        self.notify()
        try:
            events = self._poller.poll(timeout)
        except OSError as exc:
            if exc.errno == errno.EBADF:  # as gunicorn's: a listener closed under the worker
                raise StopWaiting from exc
            raise
        ready = [self._by_fd[fd] for fd, _ in events if fd in self._by_fd]
        if self.PIPE[0] in ready:
            try:
                os.read(self.PIPE[0], 1)
            except BlockingIOError:
                pass
        return ready or None


def _read_to_the_end(req) -> bool:
    # A request without Content-Length or chunked encoding has an empty LengthReader too.
    reader = req.body.reader
    return isinstance(reader, LengthReader) and reader.length == 0


def _more_waiting(client: socket.socket) -> bool:
    """Whether the client sent bytes that nobody read (a pipelined request, say); not when it has
    closed its side already."""
    try:
        return client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return False
    except OSError:  # a reset, say: gunicorn's close decides
        return True


# gunicorn reads every module-level name that matches one of its settings; the rest are ignored.
wsgi_app = "billing_project.wsgi:application"
bind = [os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")]
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# gunicorn's sync worker, woken alone for each new connection (above). A class rather than a name,
# gunicorn's --threads no longer swaps it for its threaded worker: name that one to use threads.
worker_class = ExclusiveSyncWorker
# LOG_LEVEL as for Django (billing_project.settings): one access line per request only at DEBUG (in
# docker compose nginx logs every request anyway); `make run` passes WARNING, so no worker boot lines.
_log_level = os.environ.get("LOG_LEVEL", "INFO").upper()
loglevel = (
    _log_level.lower()
    if _log_level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    else "info"
)
accesslog = "-" if _log_level == "DEBUG" else None
# SIGTERM (docker stop, a Kubernetes rollout) is gunicorn's graceful stop: the master closes the
# listening sockets, each worker finishes the request it is serving, and only workers still busy
# after this many seconds are killed. The orchestrator's own grace period must be longer
# (docker-compose.yml: stop_grace_period); SIGQUIT/SIGINT stop at once.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))


def _multiproc_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def on_starting(server):
    """The master, before forking any worker: files left by an earlier run would be added to this
    run's counters, so the directory starts empty. Only its content is removed: it may be a mount."""
    directory = _multiproc_dir()
    if directory is None:
        return
    os.makedirs(directory, exist_ok=True)
    for entry in os.scandir(directory):
        if entry.is_file() or entry.is_symlink():
            os.unlink(entry.path)


def child_exit(server, worker):
    """A worker exited (crash, timeout, recycling, reload): its live gauges stop counting. Its counters
    stay in the files, so totals keep growing monotonically across worker restarts."""
    if _multiproc_dir() is not None:
        multiprocess.mark_process_dead(worker.pid)
