from django.urls import path

from tenants.api import views

urlpatterns = [
    path("auth/login", views.LoginApi.as_view(), name="auth-login"),
    path("auth/refresh", views.RefreshApi.as_view(), name="auth-refresh"),
    path("api-keys", views.ApiKeyListCreateApi.as_view(), name="api-keys"),
    path("api-keys/<str:api_key_id>", views.ApiKeyDetailApi.as_view(), name="api-key-detail"),
    path("tenants", views.TenantListCreateApi.as_view(), name="tenants"),
    path("tenants/current", views.CurrentTenantApi.as_view(), name="tenant-current"),
]
