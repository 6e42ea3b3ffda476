"""A WSGI app that answers "ok": gunicorn's own behaviour, without Django's start-up (tests only).
GET /django says whether the project or Django was imported into the process (by the config)."""

import sys


def app(environ, start_response):
    body = b"ok"
    if environ["PATH_INFO"] == "/django":
        loaded = {"billing_project", "django.conf"} & set(sys.modules)
        body = ",".join(sorted(loaded)).encode() or b"none"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
