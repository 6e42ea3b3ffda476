"""API routes of the budgets app, mounted under /api/v1/."""

from django.urls import path

from budgets.api import views

urlpatterns: list = [
    path("budget", views.BudgetApi.as_view(), name="budget"),
]
