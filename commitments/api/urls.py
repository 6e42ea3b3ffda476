"""API routes of the commitments app, mounted under /api/v1/."""

from django.urls import path

from commitments.api import views

urlpatterns: list = [
    path("commitments", views.CommitmentsApi.as_view(), name="commitments"),
]
