"""The "bare Django" side of bench/api.py: Django with no middleware, no database and no DRF, one view
per path answering the bytes (and content type) the service answered there, recorded in the JSON
file named by BENCH_BARE_RESPONSES. Served by the same gunicorn settings as the service, so the
difference between the two is what the service does per request."""

import json
import os

from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={},
    USE_I18N=False,
    SECRET_KEY="bench-bare-django",  # noqa: S106 (no session, no signing: any value)
)

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

with open(os.environ["BENCH_BARE_RESPONSES"]) as handle:
    _RESPONSES = json.load(handle)  # {"/api/v1/plans": {"content_type": ..., "body": ...}, ...}


def _view(recorded: dict):
    body = recorded["body"].encode()
    content_type = recorded["content_type"]

    def view(request):
        return HttpResponse(body, content_type=content_type)

    return view


urlpatterns = [path(url.lstrip("/"), _view(recorded)) for url, recorded in _RESPONSES.items()]
application = get_wsgi_application()
