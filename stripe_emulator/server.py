"""HTTP front of the emulator: auth, routing, idempotency, faults, persistence."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from . import resources  # noqa: F401 - registers the routes
from .authentication import AUTHENTICATION_PAGE, handle_authentication_page
from .control import handle_control
from .encoding import expand, parse_form
from .errors import StripeError, auth_error
from .faults import InFlight, fault_response, fault_spec, take
from .hosted_invoice import HOSTED_INVOICE_PAGE, handle_invoice_page
from .paypal import PAYPAL_PAGE, handle_paypal_page
from .routing import Ctx, match
from .state import API_VERSION, State, new_id
from .webhooks import Dispatcher

log = logging.getLogger("stripe_emulator")

# Only 2xx and card errors are remembered for an Idempotency-Key: Stripe does not save a result
# when the request failed validation before executing (400/404), so a corrected retry works.
_IDEMPOTENT_STATUSES = (200, 402)


class _Handler(BaseHTTPRequestHandler):
    server_version = "stripe-emulator"
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes; without TCP_NODELAY, Nagle + delayed ACK add ~40 ms
        # to every keep-alive request of stripe-python.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):  # route through logging instead of stderr
        log.debug("%s - %s", self.address_string(), fmt % args)

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_DELETE(self):
        self._serve("DELETE")

    def _serve(self, method):
        emulator = self.server.emulator
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        request_id = new_id("req", 14)
        headers = {
            "Request-Id": request_id,
            "Stripe-Version": self.headers.get("Stripe-Version") or API_VERSION,
        }
        if url.path.startswith(AUTHENTICATION_PAGE):
            status, page, page_headers = handle_authentication_page(
                emulator.state, method, url.path, parse_form(url.query), parse_form(body)
            )
            return self._send_page(status, page, {**headers, **page_headers})
        if url.path.startswith(HOSTED_INVOICE_PAGE):
            status, page, page_headers = handle_invoice_page(emulator.state, method, url.path)
            return self._send_page(status, page, {**headers, **page_headers})
        if url.path.startswith(PAYPAL_PAGE):
            status, page, page_headers = handle_paypal_page(
                emulator.state, method, url.path, parse_form(url.query), parse_form(body)
            )
            return self._send_page(status, page, {**headers, **page_headers})
        if url.path.startswith("/_emulator/"):
            status, payload = handle_control(
                emulator, method, url.path, body, parse_form(url.query)
            )
            return self._send(status, payload, headers)
        try:
            self._authenticate()
            params = parse_form(url.query)
            if method == "POST":
                params.update(parse_form(body))
            status, payload = emulator.dispatch(
                method, url.path, params, request_id, self.headers.get("Idempotency-Key"), headers
            )
        except StripeError as exc:
            status, payload = exc.status, exc.to_dict()
        self._send(status, payload, headers)

    def _authenticate(self):
        header = self.headers.get("Authorization") or ""
        key = ""
        if header.startswith("Bearer "):
            key = header[7:].strip()
        elif header.startswith("Basic "):
            try:
                key = base64.b64decode(header[6:]).decode().split(":")[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        if not key:
            raise auth_error(
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
            )
        if not key.startswith("sk_test_"):
            raise auth_error(
                f"Invalid API Key provided: {key[:8]}{'*' * max(0, len(key) - 12)}{key[-4:]}"
            )

    def _send_page(self, status, page, headers):
        data = page.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _send(self, status, payload, headers):
        data = json.dumps(payload, indent=2).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up waiting (a hang fault past its timeout): nobody is left to answer.
            self.close_connection = True


class EmulatorServer:
    """The Stripe emulator: ``srv = EmulatorServer(port=0); srv.start(); srv.url; srv.stop()``.

    ``webhook_retry_base``/``webhook_max_attempts`` tune redelivery of failed webhooks;
    ``settings`` overrides emulator settings (e.g. ``{"automatic_retries": True}``).
    """

    api_key = "sk_test_emulator"

    def __init__(
        self,
        port=12111,
        host="127.0.0.1",
        state_file=None,
        webhook_retry_base=5.0,
        webhook_max_attempts=5,
        webhook_timeout=10.0,
        settings=None,
        save_interval=0.2,
    ):
        self.host, self.port = host, port
        self.state_file = state_file
        self.save_interval = save_interval
        self.state = State()
        self.state.load_file(state_file)
        self._settings = dict(settings or {})
        self.state.settings.update(self._settings)
        self.dispatcher = Dispatcher(webhook_retry_base, webhook_max_attempts, webhook_timeout)
        self.state.listeners.append(self.dispatcher)
        self.state.wait_for_deliveries = self.dispatcher.wait_first_attempts
        self._httpd = None
        self._stop = threading.Event()
        self._in_flight = InFlight()
        # Every API request served since the last reset ((method, path), in arrival order): lets a
        # test count the Stripe calls one operation makes (e.g. processing one webhook).
        self._requests = []
        self._requests_lock = threading.Lock()

    @property
    def url(self):
        """Base URL to give stripe-python (``stripe.api_base`` / ``base_addresses``)."""
        return f"http://{self.host}:{self.port}"

    def start(self):
        """Bind and serve from background threads; returns self."""
        self._httpd = ThreadingHTTPServer((self.host, self.port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.emulator = self
        self.port = self._httpd.server_address[1]
        self.state.public_url = self.url
        threading.Thread(
            target=self._httpd.serve_forever, daemon=True, name="stripe-emulator-http"
        ).start()
        threading.Thread(target=self._saver, daemon=True, name="stripe-emulator-saver").start()
        return self

    def serve_forever(self):
        """Start (if needed) and block until interrupted (used by ``python -m stripe_emulator``)."""
        if self._httpd is None:
            self.start()
        try:
            while not self._stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def request_stop(self):
        """Ask ``serve_forever`` to return (safe from signal handlers)."""
        self._stop.set()

    def stop(self):
        """Stop serving, stop webhook workers and flush the state file."""
        self._stop.set()
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        self.dispatcher.stop()
        self.save()

    def reset(self):
        """Forget all objects, events, deliveries and faults (webhook endpoints too);
        settings go back to the defaults plus those given to the constructor."""
        self.dispatcher.clear()
        self.state.reset()
        self.state.settings.update(self._settings)
        self.clear_requests()

    def save(self):
        """Write the state file now (no-op without ``state_file``)."""
        if self.state_file:
            self.state.save_file(self.state_file)

    def add_webhook_endpoint(self, url, secret=None, enabled_events=("*",)):
        """Register (or update, matched by URL) a webhook endpoint; returns its secret."""
        from .resources.webhook_endpoints import upsert_endpoint

        with self.state.lock:
            return upsert_endpoint(self.state, url, secret, list(enabled_events))

    def remove_webhook_endpoint(self, url):
        """Delete the webhook endpoint(s) registered for ``url``."""
        with self.state.lock:
            for endpoint in self.state.all("webhook_endpoint"):
                if endpoint["url"] == url:
                    endpoint["_deleted"] = True
                    self.state.dirty = True

    def wait_for_webhooks(self, timeout=30.0):
        """Block until every queued webhook delivery (including retries) is done."""
        return self.dispatcher.wait_idle(timeout)

    def _saver(self):
        # Debounced persistence: at most one write per interval, only after a change.
        while not self._stop.wait(self.save_interval):
            if self.state_file and self.state.dirty:
                try:
                    self.save()
                except OSError:
                    log.exception("could not save emulator state")

    # ---- fault injection (tests only; see faults.py) ------------------------------------------
    def inject_fault(self, path, *, method=None, status=None, delay=None, count=1, after=False):
        """Make the next ``count`` requests matching ``method`` and ``path`` (a ``*`` pattern) fail:
        ``status`` 409/429/5xx instead of the work, ``delay`` seconds first (a hang past the
        client's timeout), or with ``after=True`` do the work, then wait ``delay`` and/or answer
        ``status`` (the response is lost). Returns the fault (a live dict: ``fired`` counts hits)."""
        fault = fault_spec(
            path, method=method, status=status, delay=delay, count=count, after=after
        )
        with self.state.lock:
            self.state.faults.append(fault)
        return fault

    def faults(self):
        """Every fault injected since the last reset (spent ones too), with ``count`` left and ``fired``."""
        with self.state.lock:
            return [dict(f) for f in self.state.faults]

    def clear_faults(self):
        """Disarm every fault."""
        with self.state.lock:
            self.state.faults.clear()

    def wait_requests_done(self, timeout=30.0):
        """Block until no API request is being served (e.g. requests hung by a ``delay`` fault after
        their client timed out); True when idle, False on timeout."""
        return self._in_flight.wait_idle(timeout)

    # ---- request log (tests only) ----------------------------------------------------------------
    def requests(self):
        """The API requests served since the last reset or ``clear_requests()``: ``[{"method", "path"}]``
        in arrival order (control requests under ``/_emulator/`` are not counted)."""
        with self._requests_lock:
            return [{"method": method, "path": path} for method, path in self._requests]

    def clear_requests(self):
        """Start counting API requests afresh."""
        with self._requests_lock:
            self._requests.clear()

    def dispatch(self, method, path, params, request_id, idempotency_key, headers):
        """Run one API request; returns ``(status, json_body)``."""
        with self._requests_lock:
            self._requests.append((method, path))
        with self._in_flight:
            with self.state.lock:
                fault = take(self.state.faults, method, path)
            if fault and not fault["after"]:
                if fault["delay"]:
                    time.sleep(fault["delay"])
                if fault["status"]:
                    return fault_response(fault["status"])
            status, body = self._execute(method, path, params, request_id, idempotency_key, headers)
            if fault and fault["after"]:
                # The work is done (and stored under the Idempotency-Key); now lose the answer.
                if fault["delay"]:
                    time.sleep(fault["delay"])
                if fault["status"]:
                    headers.pop("Idempotent-Replayed", None)
                    headers.pop("Original-Request", None)
                    return fault_response(fault["status"])
            return status, body

    def _execute(self, method, path, params, request_id, idempotency_key, headers):
        handler, path_params = match(method, path)
        if handler is None:
            raise StripeError(
                404,
                f"Unrecognized request URL ({method}: {path}). Please see "
                "https://stripe.com/docs or we can help at https://support.stripe.com/.",
            )
        state = self.state
        with state.lock:
            key = idempotency_key if method == "POST" else None
            if key:
                headers["Idempotency-Key"] = key
                stored = state.idempotency.get(key)
                if stored is not None:
                    if (
                        stored["method"] != method
                        or stored["path"] != path
                        or stored["params"] != params
                    ):
                        raise StripeError(
                            400,
                            "Keys for idempotent requests can only be used with the same "
                            f"parameters they were first used with. Try using a key other "
                            f"than '{key}' if you meant to execute a different request.",
                            type="idempotency_error",
                        )
                    headers["Idempotent-Replayed"] = "true"
                    headers["Original-Request"] = stored["request_id"]
                    return stored["status"], stored["body"]
            state.current_request = {
                "id": request_id if method != "GET" else None,
                "idempotency_key": key,
            }
            try:
                ctx = Ctx(state, method, path, params)
                status, body = 200, handler(ctx, **path_params)
                body = expand(body, ctx.expand, state.resolve, state.include)
            except StripeError as exc:
                status, body = exc.status, exc.to_dict()
            except Exception:  # noqa: BLE001 - a bug must still answer like Stripe's api_error
                log.error("emulator error on %s %s\n%s", method, path, traceback.format_exc())
                status, body = fault_response(500)
            finally:
                state.current_request = None
            if key and status in _IDEMPOTENT_STATUSES:
                state.idempotency[key] = {
                    "method": method,
                    "path": path,
                    "params": params,
                    "status": status,
                    "body": body,
                    "request_id": request_id,
                }
                state.dirty = True
        return status, body
