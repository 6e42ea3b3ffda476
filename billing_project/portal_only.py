"""Django's session, authentication, messages and CSRF middleware, skipped under /api/.

Every route under /api/ is a DRF view: it authenticates from the credential on each request
(billing_project.api.authentication), never reads a session, a cookie-based user or flashed messages,
and DRF exempts it from the CSRF cookie check (no cookie authentication there). Running these on
API requests was pure overhead (issue 21); the portal, the admin and the docs keep all four. They are
subclasses of Django's classes, so Django's system checks (the admin's, for one) still find them.
"""

from django.contrib.auth.middleware import AuthenticationMiddleware as _Authentication
from django.contrib.messages.middleware import MessageMiddleware as _Messages
from django.contrib.sessions.middleware import SessionMiddleware as _Session
from django.middleware.csrf import CsrfViewMiddleware as _Csrf

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
