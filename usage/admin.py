"""Finance back-office for the usage app: meters, events (read only), rollups per period and per
day, alert state, Stripe meter pushes (lag and failures) and collectors with their runs.

Usage tables live in each tenant's schema: every usage page works on one tenant at a time, picked
above each list (tenants.schema_admin).
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from tenants.schema_admin import TenantSchemaAdmin
from usage.models import (
    Collector,
    CollectorRun,
    Meter,
    MeterPush,
    UsageAlert,
    UsageDailyRollup,
    UsageEvent,
    UsageEventKey,
    UsageRollup,
)


class ReadOnlyAdmin(TenantSchemaAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Meter)
class MeterAdmin(TenantSchemaAdmin):
    list_display = (
        "code",
        "display_name",
        "aggregation",
        "unit",
        "unique_property",
        "stripe_event_name",
        "is_active",
    )
    list_filter = ("aggregation", "is_active")
    search_fields = ("code", "display_name")


@admin.register(UsageEvent)
class UsageEventAdmin(ReadOnlyAdmin):
    list_display = (
        "event_id",
        "resource_type",
        "quantity",
        "period_start",
        "source",
        "transaction_id",
        "late",
        "received_at",
    )
    list_filter = ("resource_type", "late", "source")
    search_fields = ("=transaction_id", "=idempotency_key")
    show_full_result_count = False  # no COUNT(*) over millions of events
    list_per_page = 50

    def get_search_results(self, request, queryset, search_term):
        # Through the key table's unique indexes: the monthly partitions have none on the keys.
        if not search_term:
            return queryset, False
        keys = UsageEventKey.objects.filter(
            Q(key=UsageEventKey.of_transaction(search_term)) | Q(idempotency_key=search_term)
        )
        return queryset.filter(id__in=keys.values("event_pk")), False


@admin.register(UsageRollup)
class UsageRollupAdmin(ReadOnlyAdmin):
    list_display = (
        "resource_type",
        "period_start",
        "period_end",
        "total",
        "event_count",
        "max_value",
        "last_value",
        "unique_count",
        "late_billed",
        "updated",
    )
    list_filter = ("resource_type",)


@admin.register(UsageDailyRollup)
class UsageDailyRollupAdmin(ReadOnlyAdmin):
    list_display = (
        "resource_type",
        "day",
        "period_start",
        "total",
        "event_count",
        "max_value",
        "last_value",
        "unique_new",
    )
    list_filter = ("resource_type",)
    date_hierarchy = "day"


@admin.register(UsageAlert)
class UsageAlertAdmin(ReadOnlyAdmin):
    list_display = ("resource_type", "period_start", "threshold", "used", "limit", "fired_at")
    list_filter = ("resource_type", "threshold")


@admin.register(MeterPush)
class MeterPushAdmin(ReadOnlyAdmin):
    list_display = (
        "resource_type",
        "period_start",
        "pushed_quantity",
        "unpushed",
        "last_pushed_at",
        "lag",
        "failures",
        "last_error",
    )
    list_filter = ("resource_type",)

    @admin.display(description="not yet in Stripe")
    def unpushed(self, obj):
        rollup = UsageRollup.objects.filter(
            resource_type=obj.resource_type, period_start=obj.period_start
        ).first()
        if rollup is None:
            return "-"
        return rollup.total - rollup.late_received + rollup.late_billed - obj.pushed_quantity

    @admin.display(description="lag")
    def lag(self, obj):
        return (
            "never"
            if obj.last_pushed_at is None
            else str(timezone.now() - obj.last_pushed_at).split(".")[0]
        )


class CollectorForm(forms.ModelForm):
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput,
        help_text="NetBox token or Odoo API key; stored encrypted. Leave empty to keep it.",
    )

    class Meta:
        model = Collector
        # Named, not excluded: a field added to the model later (another secret) stays out of the
        # form until someone puts it here. The secret comes in through `secret` above.
        fields = (
            "kind",
            "name",
            "base_url",
            "resource_type",
            "target",
            "filters",
            "odoo_database",
            "odoo_login",
            "interval_minutes",
            "is_active",
        )

    def clean_base_url(self) -> str:
        # The outbound URL policy, as a form error rather than a failure on the first run.
        from usage.services import collector_url_check

        url = self.cleaned_data["base_url"]
        if url and not self.instance.platform:
            try:
                collector_url_check(url)
            except ValidationError as exc:
                raise forms.ValidationError(exc.message_dict["base_url"]) from None
        return url


@admin.register(Collector)
class CollectorAdmin(TenantSchemaAdmin):
    """The tenant's own collectors (editable) and the platform-wide ones the environment configures
    (read-only here: NETBOX_API_URL / ODOO_API_URL and friends, see usage/services/collectors.py)."""

    form = CollectorForm
    list_display = (
        "name",
        "kind",
        "platform",
        "resource_type",
        "target",
        "base_url",
        "interval_minutes",
        "is_active",
        "last_run_at",
    )
    list_filter = ("kind", "platform", "is_active")

    def has_change_permission(self, request, obj=None):
        return not (obj is not None and obj.platform) and super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request, obj=None):
        return not (obj is not None and obj.platform) and super().has_delete_permission(
            request, obj
        )

    def changelist_view(self, request, extra_context=None):
        from usage.services.collectors import platform_collectors

        if request.method == "GET":
            configured, problems = platform_collectors()
            for each in configured:
                messages.info(
                    request,
                    f"Platform collector from the environment, for every tenant: {each.name} at "
                    f"{each.base_url} counts {each.mapping} as {each.resource_type}.",
                )
            for problem in problems:
                messages.warning(request, f"Platform collector not configured: {problem}")
            if not configured and not problems:
                messages.info(
                    request,
                    "No platform collector: set NETBOX_API_URL/NETBOX_API_TOKEN or "
                    "ODOO_API_URL/ODOO_API_KEY/ODOO_DATABASE/ODOO_LOGIN to count every "
                    "tenant's usage in the platform's own NetBox or Odoo.",
                )
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        from usage.services import collector_secret_set

        if form.cleaned_data.get("secret"):
            collector_secret_set(collector=obj, secret=form.cleaned_data["secret"])
        super().save_model(request, obj, form, change)


@admin.register(CollectorRun)
class CollectorRunAdmin(ReadOnlyAdmin):
    list_display = ("collector", "started_at", "status", "count", "error", "event_id")
    list_filter = ("status", "collector")
    list_select_related = ("collector",)
