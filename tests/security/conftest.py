"""Fixtures of the security tests: a local HTTP receiver that records everything it gets (the target an
SSRF would hit), a resolver that answers chosen names, and the portal's and notifications' fixtures."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.notifications.conftest import eager  # noqa: F401  (fixtures reused here)
from tests.portal.conftest import owner_portal, portal_client, portal_client_for  # noqa: F401


class Receiver:
    """Records the path and Host header of every request; answers 200, or a redirect when told."""

    def __init__(self):
        self.requests: list[dict] = []
        self.redirect_to: str | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "host": self.headers["Host"]})
                if receiver.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", receiver.redirect_to)
                else:
                    self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    """A local receiver; plain http is allowed (it has no TLS), its address is NOT (the policy's default)."""
    settings.OUTBOUND_ALLOW_HTTP = True
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = []
    sink = Receiver()
    yield sink
    sink.close()


@pytest.fixture
def second_receiver():
    sink = Receiver()
    yield sink
    sink.close()


@pytest.fixture
def fake_dns(monkeypatch):
    """fake_dns({"name": ["127.0.0.1", ...] or callable}) makes the resolver answer those names (no
    internet in tests: this is how 127.0.0.1.nip.io behaves); other names resolve as usual."""
    real = socket.getaddrinfo
    answers: dict = {}
    calls: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name in answers:
            calls.append(name)
            addresses = answers[name]() if callable(answers[name]) else answers[name]
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, int(port or 0)) if ":" not in a else (a, int(port or 0), 0, 0),
                )
                for a in addresses
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def set_answers(mapping: dict):
        answers.update(mapping)
        return calls

    return set_answers
