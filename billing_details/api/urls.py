from django.urls import path

from billing_details.api import views

urlpatterns = [
    path(
        "tenants/current/billing-details",
        views.BillingDetailsApi.as_view(),
        name="tenant-billing-details",
    ),
]
