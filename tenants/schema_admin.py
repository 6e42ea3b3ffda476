"""The admin's pages over tables kept in each tenant's schema (usage, notifications, outbound
webhooks). The admin runs on the public host, so each such page works on one tenant at a time:
`?tenant=<slug>` picks it, the session keeps the choice for every such page, and the page's queries
run in that tenant's schema. Each list shows the tenant picker above it."""

from django.contrib import admin, messages
from django.db import ProgrammingError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django_tenants.utils import get_public_schema_name, tenant_context

from tenants.models import Tenant

SESSION_KEY = "admin_tenant"


def admin_tenants():
    return Tenant.objects.exclude(schema_name=get_public_schema_name()).order_by("slug")


def admin_tenant_chosen(request) -> Tenant | None:
    """The tenant named by ?tenant=, else the one chosen before in this session, else the first."""
    slug = request.GET.get("tenant") or request.session.get(SESSION_KEY)
    tenant = admin_tenants().filter(slug=slug).first() if slug else None
    if tenant is None:
        tenant = admin_tenants().first()
    if tenant is not None:
        request.session[SESSION_KEY] = tenant.slug
    return tenant


class TenantSchemaAdmin(admin.ModelAdmin):
    """A ModelAdmin whose pages run in the chosen tenant's schema."""

    change_list_template = "admin/tenant_schema_change_list.html"

    def _in_tenant(self, request, view, *args, tenant: Tenant | None = None, **kwargs):
        tenant = tenant or admin_tenant_chosen(request)
        if tenant is None:
            self.message_user(request, "No tenant yet.", messages.WARNING)
            return HttpResponseRedirect(reverse("admin:index"))
        # Permissions are read (and cached on the user) in public: the tenant schema has its own
        # content types, so a check made inside it would not find the staff group's grants (403).
        request.user.get_all_permissions()
        query = request.GET.copy()
        query.pop("tenant", None)
        request.GET = query  # the changelist would take ?tenant= for a field lookup
        with tenant_context(tenant):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()  # templates read querysets lazily: render inside the schema
        return response

    def changelist_view(self, request, extra_context=None):
        tenant = admin_tenant_chosen(request)
        extra_context = {
            **(extra_context or {}),
            "chosen_tenant": tenant,
            "tenants": admin_tenants(),
        }
        return self._in_tenant(
            request, super().changelist_view, tenant=tenant, extra_context=extra_context
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return self._in_tenant(request, super().change_view, object_id, form_url, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        return self._in_tenant(request, super().add_view, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        return self._in_tenant(request, super().delete_view, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        try:
            return self._in_tenant(request, super().history_view, object_id, extra_context)
        except ProgrammingError:  # the admin log lives in public; tenant objects have none
            return HttpResponseRedirect("../")
