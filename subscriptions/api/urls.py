from django.urls import path

from subscriptions.api import views

urlpatterns = [
    path("plans", views.PlanListApi.as_view(), name="plans"),
]
