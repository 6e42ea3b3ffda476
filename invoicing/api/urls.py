"""API routes of the invoicing app, mounted under /api/v1/."""

urlpatterns: list = []
