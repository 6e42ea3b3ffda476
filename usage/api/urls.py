"""API routes of the usage app, mounted under /api/v1/."""

from django.urls import path

from usage.api import views

urlpatterns = [
    path("usage", views.UsageIngestApi.as_view(), name="usage-ingest"),
    path("usage/batch", views.UsageBatchApi.as_view(), name="usage-batch"),
    path("usage/summary", views.UsageSummaryApi.as_view(), name="usage-summary"),
    path("usage/events", views.UsageEventListApi.as_view(), name="usage-events"),
    path("usage/report.csv", views.UsageReportCsvApi.as_view(), name="usage-report-csv"),
    path("entitlements/check", views.EntitlementCheckApi.as_view(), name="entitlements-check"),
]
