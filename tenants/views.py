"""Portal pages of the tenants app (thin)."""

from django.conf import settings
from django.shortcuts import render


def portal_home(request):
    return render(request, "portal/home.html", {"tenant": request.tenant,
                                                "api_url": settings.PUBLIC_BASE_URL.rstrip("/") + "/api/v1/auth/login"})
