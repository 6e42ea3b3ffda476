"""The web process's worker class (ExclusiveSyncWorker in config/gunicorn.conf.py):
gunicorn's sync worker, woken alone for each new connection. Idle sync workers all sleep on the one
listening socket, and select() woke every one of them for each connection, so three of four went
back to sleep having done nothing (CPU a loaded 2-core machine's requests lack, issue 21)."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

from scripts.dev import free_port, port_open
from tests.reliability.conftest import ROOT

WORKERS = 4
REQUESTS = 200


@contextmanager
def gunicorn(*extra: str, workers: int = WORKERS):
    port = free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "--config", "config/gunicorn.conf.py"),
            *("--bind", f"127.0.0.1:{port}", "--workers", str(workers), *extra),
            "tests.reliability.hello_wsgi:app",
        ],
        cwd=ROOT,
        env={**os.environ, "LOG_LEVEL": "WARNING", "PROMETHEUS_MULTIPROC_DIR": ""},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_workers(process)) < workers or not port_open("127.0.0.1", port):
            assert time.monotonic() < deadline and process.poll() is None, "gunicorn did not start"
            time.sleep(0.1)
        time.sleep(0.5)  # every worker has reached its wait for a connection
        yield process, port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _workers(master: subprocess.Popen) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[1] == str(master.pid):
                    found.append(pid)
        except OSError:  # ended meanwhile
            pass
    return found


def _sleeps(pids: list[str]) -> int:
    """How many times these processes went to sleep waiting (voluntary context switches)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as status:
            total += next(
                int(line.split()[1])
                for line in status
                if line.startswith("voluntary_ctxt_switches:")
            )
    return total


def _sleeps_per_request(process, port) -> float:
    pids = _workers(process)
    before = _sleeps(pids)
    for _ in range(REQUESTS):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/")
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"ok")
        conn.close()
    return (_sleeps(pids) - before) / REQUESTS


def test_one_worker_wakes_for_each_connection():
    """The worker that serves a connection sleeps about twice (for its request, then for the next
    connection); with gunicorn's own sync worker the 3 idle others woke as well, each time (the
    comparison shows the count sees them; should gunicorn stop waking them, ours can go)."""
    with gunicorn() as (process, port):
        ours = _sleeps_per_request(process, port)
    with gunicorn("--worker-class", "sync") as (process, port):
        gunicorns = _sleeps_per_request(process, port)
    assert ours < 3.2, ours
    assert gunicorns > ours + 1.5, (gunicorns, ours)


def test_the_workers_still_stop_gracefully_on_sigterm():
    with gunicorn() as (process, port):
        assert _sleeps_per_request(process, port) > 0
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_the_configuration_loads_neither_django_nor_the_project_into_the_master():
    """Workers fork from gunicorn's master: what the configuration imports is in every worker before
    the application loads (bench/api.py's bare Django side configures its own settings)."""
    with gunicorn() as (_, port):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/django")
        assert conn.getresponse().read() == b"none"
        conn.close()


def _answer(sock: socket.socket) -> bytes:
    """The whole answer of the hello app ("ok" ends it; its connection stays open)."""
    data = b""
    while not data.endswith(b"ok"):
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    return data


def test_a_client_that_keeps_its_socket_open_does_not_hold_the_worker():
    """gunicorn's graceful close waited up to 2 s for each client to close its side after the
    answer: one worker, one client that read its answer and kept its socket, and every other
    request waited those 2 s."""
    with gunicorn(workers=1) as (_, port):
        holder = socket.create_connection(("127.0.0.1", port), timeout=10)
        holder.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        assert _answer(holder).startswith(b"HTTP/1.1 200")
        try:
            other = socket.create_connection(("127.0.0.1", port), timeout=1.0)
            other.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            assert _answer(other).startswith(b"HTTP/1.1 200")  # socket.timeout after 1 s if held
            other.close()
        finally:
            holder.close()


def test_a_body_the_application_did_not_read_is_still_drained_before_closing():
    """The hello app answers without reading the body. Closing at once with the client still
    sending makes the kernel answer the rest with a reset, which can destroy the answer before the
    client reads it: there the worker keeps gunicorn's graceful close, reading and dropping the
    rest until the client closes."""
    with gunicorn(workers=1) as (_, port):
        client = socket.create_connection(("127.0.0.1", port), timeout=10)
        client.sendall(b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
        assert _answer(client).startswith(b"HTTP/1.1 200")
        client.sendall(b"x" * 500)  # the rest of the body, after the answer
        time.sleep(0.2)  # a closed socket's reset would be back by now, and this send then fails
        client.sendall(b"x" * 490)
        assert client.recv(4096) == b""  # the worker's FIN
        client.close()
