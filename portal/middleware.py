"""The tenant's locale is the language of its portal until a visitor picks another one."""

from django.conf import settings
from django.utils import translation


class TenantLanguageMiddleware:
    """Runs after LocaleMiddleware. On a tenant's host without the language cookie (set by Django's
    set_language view), the tenant's locale wins over the browser's Accept-Language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if (
            tenant is not None
            and tenant.schema_name != settings.PUBLIC_SCHEMA_NAME
            and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
        ):
            translation.activate(tenant.locale)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
