from django.urls import path

from analytics.api import views

urlpatterns = [
    path("analytics/mrr", views.MrrApi.as_view(), name="analytics-mrr"),
    path("analytics/movements", views.MovementsApi.as_view(), name="analytics-movements"),
    path("analytics/churn", views.ChurnApi.as_view(), name="analytics-churn"),
    path("analytics/receivables", views.ReceivablesApi.as_view(), name="analytics-receivables"),
]
