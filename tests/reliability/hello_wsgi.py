"""A WSGI app that answers "ok": gunicorn's own behaviour, without Django's start-up (tests only)."""


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
