"""Small local HTTP servers speaking NetBox's REST and Odoo's JSON-RPC request/response shapes."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class _Server:
    def __init__(self, handler):
        self.requests = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.fake = self
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeNetBox(_Server):
    """`GET /api/<app>/<model>/?limit=1` with `Authorization: Token <token>` -> `{"count": N, ...}`; a count
    given per NetBox tenant slug answers `?tenant=<slug>` with that tenant's objects only."""

    def __init__(self, token: str, counts: dict[str, int]):
        self.token, self.counts = token, counts
        super().__init__(self._Handler)

    class _Handler(_Handler):
        def do_GET(self):
            fake = self.server.fake
            url = urlparse(self.path)
            fake.requests.append((url.path, parse_qs(url.query), self.headers.get("Authorization")))
            if self.headers.get("Authorization") != f"Token {fake.token}":
                return self.reply(403, {"detail": "Invalid token"})
            endpoint = url.path.removeprefix("/api/").strip("/")
            if endpoint not in fake.counts:
                return self.reply(404, {"detail": "Not found."})
            count = fake.counts[endpoint]
            if isinstance(
                count, dict
            ):  # per NetBox tenant slug, filtered as NetBox does with ?tenant=<slug>
                tenants = parse_qs(url.query).get("tenant")
                count = sum(n for slug, n in count.items() if tenants is None or slug in tenants)
            self.reply(
                200,
                {
                    "count": count,
                    "next": f"{fake.url}{url.path}?limit=1&offset=1" if count > 1 else None,
                    "previous": None,
                    "results": [{"id": 1, "url": f"{fake.url}{url.path}1/"}][:count],
                },
            )


class FakeOdoo(_Server):
    """`POST /jsonrpc`: `common.login(db, login, key)` -> uid; `object.execute_kw(db, uid, key, model,
    "search_count", [domain])` -> int (per partner Reference when the count is given so); errors in Odoo's
    JSON-RPC error shape."""

    def __init__(self, database: str, login: str, api_key: str, counts: dict[str, int]):
        self.database, self.login, self.api_key, self.counts = database, login, api_key, counts
        super().__init__(self._Handler)

    class _Handler(_Handler):
        def do_POST(self):
            fake = self.server.fake
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.requests.append(body)
            params, call_id = body["params"], body.get("id")
            args = params["args"]
            if self.path != "/jsonrpc":
                return self.reply(404, {})
            if (params["service"], params["method"]) == ("common", "login"):
                ok = args == [fake.database, fake.login, fake.api_key]
                return self.reply(
                    200, {"jsonrpc": "2.0", "id": call_id, "result": 2 if ok else False}
                )
            if (params["service"], params["method"]) == ("object", "execute_kw"):
                db, uid, key, model, method, method_args = args[:6]
                if (db, uid, key) != (fake.database, 2, fake.api_key):
                    return self.reply(
                        200,
                        {
                            "jsonrpc": "2.0",
                            "id": call_id,
                            "error": {
                                "code": 200,
                                "message": "Odoo Server Error",
                                "data": {
                                    "name": "odoo.exceptions.AccessDenied",
                                    "message": "Access Denied",
                                },
                            },
                        },
                    )
                assert method == "search_count" and isinstance(method_args[0], list)
                count = fake.counts[model]
                if isinstance(
                    count, dict
                ):  # per partner Reference: a [field ending in "ref", "=", value] term
                    refs = [
                        term[2]
                        for term in method_args[0]
                        if isinstance(term, list) and term[0].endswith("ref")
                    ]
                    count = sum(n for ref, n in count.items() if not refs or ref in refs)
                return self.reply(200, {"jsonrpc": "2.0", "id": call_id, "result": count})
            self.reply(
                200, {"jsonrpc": "2.0", "id": call_id, "error": {"code": 404, "message": "unknown"}}
            )
