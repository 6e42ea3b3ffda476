"""Django's session, authentication, messages and CSRF middleware, skipped under /api/, and its
locale middleware, short under /api/ when the request names no language.

Every route under /api/ is a DRF view: it authenticates from the credential on each request
(billing_project.api.authentication), never reads a session, a cookie-based user or flashed messages,
and DRF exempts it from the CSRF cookie check (no cookie authentication there). Running these on
API requests was pure overhead (issue 21); the portal, the admin and the docs keep all four. They are
subclasses of Django's classes, so Django's system checks (the admin's, for one) still find them.
"""

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware as _Authentication
from django.contrib.messages.middleware import MessageMiddleware as _Messages
from django.contrib.sessions.middleware import SessionMiddleware as _Session
from django.middleware.csrf import CsrfViewMiddleware as _Csrf
from django.middleware.locale import LocaleMiddleware as _Locale
from django.utils import translation
from django.utils.cache import patch_vary_headers

API_PREFIX = "/api/"


def _is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


class SessionMiddleware(_Session):
    def __call__(self, request):
        if _is_api(request):
            return self.get_response(request)
        return super().__call__(request)


class AuthenticationMiddleware(_Authentication):
    def __call__(self, request):
        if _is_api(request):
            return self.get_response(request)
        return super().__call__(request)


class MessageMiddleware(_Messages):
    def __call__(self, request):
        if _is_api(request):
            return self.get_response(request)
        return super().__call__(request)


class CsrfViewMiddleware(_Csrf):
    def __call__(self, request):
        if _is_api(request):
            return self.get_response(request)
        return super().__call__(request)

    def process_view(self, request, callback, callback_args, callback_kwargs):
        if _is_api(request):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)


class LocaleMiddleware(_Locale):
    """Django's: the language from the path, the cookie, then Accept-Language. An API request with
    neither a cookie nor Accept-Language (nearly all of them) gets LANGUAGE_CODE, as Django would
    give it (the API has no language prefixes in its paths), and the same response headers, without
    the parsing and path matching Django does to find that out (about 40 us a request)."""

    def process_request(self, request):
        meta = request.META
        if _is_api(request) and "HTTP_ACCEPT_LANGUAGE" not in meta and "HTTP_COOKIE" not in meta:
            translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = translation.get_language()
            request._default_language = True
            return None
        return super().process_request(request)

    def process_response(self, request, response):
        if getattr(request, "_default_language", False):
            patch_vary_headers(response, ("Accept-Language",))
            response.headers.setdefault("Content-Language", translation.get_language())
            return response
        return super().process_response(request, response)
