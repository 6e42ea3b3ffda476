"""gunicorn's sync worker, woken alone for each new connection (config/gunicorn.conf.py's
worker_class).

Idle sync workers wait in select() on the one listening socket they share, and the kernel wakes
every one of them for each connection: all but one find nothing to accept and go back to sleep.
With 4 workers on 2 cores at 500 single-event ingests a second, that cost the workers ~75 us of CPU
a request and the load client beside them ~25 us (issue 21). An epoll set with EPOLLEXCLUSIVE
(Linux 4.5+) wakes one waiter per connection instead. Accepting, serving, signals and heartbeats
stay gunicorn's SyncWorker's; where epoll is missing, its select() is kept.
"""

from __future__ import annotations

import errno
import os
import select

from gunicorn.workers.sync import StopWaiting
from gunicorn.workers.sync import SyncWorker as GunicornSyncWorker


class SyncWorker(GunicornSyncWorker):
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
