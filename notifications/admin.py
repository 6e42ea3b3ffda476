"""Finance back-office for notifications: the delivery log of a chosen tenant (filters, resend, test
send) and the platform's Slack channel.

Deliveries live in each tenant's schema: the log works on one tenant at a time, picked above the
list (tenants.schema_admin).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpResponseRedirect
from django.urls import path, reverse

from billing_project import outbound
from billing_project.api.exceptions import DomainError
from notifications import services
from notifications.events import KINDS
from notifications.models import Delivery
from notifications.platform.models import PlatformSlackSettings
from tenants.schema_admin import TenantSchemaAdmin, admin_tenant_chosen


class KindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(kind, kind) for kind in (*KINDS, "test")]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


class SendTestForm(forms.Form):
    channels = forms.MultipleChoiceField(
        choices=[("email", "Email"), ("slack", "Slack"), ("in_app", "In-app")],
        widget=forms.CheckboxSelectMultiple,
        initial=["email", "in_app"],
    )


@admin.register(Delivery)
class DeliveryAdmin(TenantSchemaAdmin):
    change_list_template = "notifications/admin/delivery_change_list.html"
    list_display = [
        "created",
        "kind",
        "channel",
        "recipient",
        "status",
        "attempts",
        "last_error_short",
        "sent_at",
    ]
    list_filter = ["status", "channel", KindFilter]
    search_fields = ["recipient", "dedup_key", "last_error"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["resend"]
    date_hierarchy = "created"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "send_test_form": SendTestForm(),
            "can_resend": self.has_resend_permission(request),
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description="last error")
    def last_error_short(self, obj):
        return (obj.last_error or "")[:80]

    def has_resend_permission(self, request):
        # support and finance (tenants/migrations/0003); read_only only reads the log.
        return request.user.has_perm("notifications.change_delivery")

    @admin.action(description="Resend the selected deliveries", permissions=["resend"])
    def resend(self, request, queryset):
        tenant = connection.tenant
        for delivery in queryset:
            services.delivery_resend(
                tenant=tenant, delivery_id=delivery.pk, actor=request.user.email
            )
        self.message_user(request, f"{queryset.count()} deliveries queued again for {tenant.slug}.")

    def get_urls(self):
        return [
            path(
                "send-test/",
                self.admin_site.admin_view(self.send_test_view),
                name="notifications_send_test",
            ),
            *super().get_urls(),
        ]

    def send_test_view(self, request):
        if not self.has_resend_permission(request):
            raise PermissionDenied
        tenant = admin_tenant_chosen(request)
        if tenant is None:
            return HttpResponseRedirect(reverse("admin:index"))
        form = SendTestForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.notification_test_send(
                    tenant=tenant, channels=form.cleaned_data["channels"], actor=request.user.email
                )
            except DomainError as exc:  # no Slack URL: shown, not raised
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"Test notification sent to {tenant.name}.")
        return HttpResponseRedirect(
            reverse("admin:notifications_delivery_changelist") + f"?tenant={tenant.slug}"
        )


class PlatformSlackForm(forms.ModelForm):
    webhook_url = forms.URLField(
        required=False,
        assume_scheme="https",
        help_text="Leave empty to keep the current URL.",
        widget=forms.PasswordInput(render_value=False),
    )
    remove_webhook = forms.BooleanField(required=False)
    kinds = forms.MultipleChoiceField(
        choices=[(kind, kind) for kind in KINDS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = PlatformSlackSettings
        fields = ["enabled", "kinds"]

    def clean_webhook_url(self) -> str:
        # The outbound URL policy, as a form error rather than a failure in save_model.
        url = self.cleaned_data["webhook_url"]
        if url:
            try:
                outbound.url_check(url)
            except outbound.OutboundRefused as exc:
                raise forms.ValidationError(f"The URL {exc}.") from exc
        return url


@admin.register(PlatformSlackSettings)
class PlatformSlackSettingsAdmin(admin.ModelAdmin):
    form = PlatformSlackForm
    list_display = ["__str__", "enabled", "kinds", "webhook_set", "updated"]

    @admin.display(boolean=True, description="webhook set")
    def webhook_set(self, obj):
        return bool(obj.webhook_ciphertext)

    def has_add_permission(self, request):
        return not PlatformSlackSettings.objects.exists()

    def save_model(self, request, obj, form, change):
        # Through the service: it encrypts the URL and writes the audit row.
        kwargs = {}
        if form.cleaned_data.get("remove_webhook"):
            kwargs["webhook_url"] = ""
        elif form.cleaned_data.get("webhook_url"):
            kwargs["webhook_url"] = form.cleaned_data["webhook_url"]
        saved = services.platform_slack_update(
            actor=request.user.email, enabled=obj.enabled, kinds=obj.kinds, **kwargs
        )
        obj.pk = saved.pk
