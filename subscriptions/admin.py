"""Finance back-office: the plan catalog with its Stripe sync, each tenant's subscription (its billing
account) with the subscription actions, the tenants' test clocks, and the received Stripe events.

Every action calls a service, which writes the audit row, with the staff user's email as actor. The
finance group's access comes from model permissions granted by migration 0004 (see there).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.exceptions import NotRegistered
from django.template.response import TemplateResponse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from billing_project.admin_kit import MajorUnitsForm
from billing_project.api.exceptions import DomainError
from billing_project.money import money_text
from subscriptions.models import BillingAccount, BillingCycle, Plan, WebhookEvent
from subscriptions.services import catalog, clocks, plan_edits
from subscriptions.services import subscriptions as sub_services
from subscriptions.services.sync import tenant_resync
from tenants.models import Tenant


def run_each(modeladmin, request, items, label: str, call) -> None:
    """Call the service for each item: one message per failure (a domain error, shown as such), one for the rest."""
    done = 0
    for item in items:
        try:
            call(item)
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{item}: {exc.message}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{label}: {done} done.", messages.SUCCESS)


def _action_page(
    modeladmin, request, queryset, *, form, action: str, title: str, intro: str, submit: str
):
    """The intermediate page of an action that needs input; posting it runs the action again with `apply`."""
    return TemplateResponse(
        request,
        "subscriptions/admin/action_form.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "form": form,
            "queryset": queryset,
            "action": action,
            "submit": submit,
            "opts": modeladmin.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        },
    )


# --- plans --------------------------------------------------------------------------------------


class PlanForm(MajorUnitsForm):
    major_units = ("price_monthly", "price_yearly", "overage_unit_amount")


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    form = PlanForm
    list_display = [
        "code",
        "name",
        "monthly",
        "yearly",
        "currency",
        "hard",
        "overage",
        "is_public",
        "is_active",
        "stripe_status",
    ]
    list_filter = ["is_public", "is_active"]
    search_fields = ["code", "name"]
    readonly_fields = [
        "stripe_product_id",
        "stripe_price_id",
        "stripe_price_id_yearly",
        "stripe_overage_price_id",
        "stripe_overage_price_id_yearly",
        "created",
        "updated",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "code",
                    "name",
                    "description",
                    "currency",
                    "price_monthly",
                    "price_yearly",
                    "features",
                    "feature_keys",
                    "is_public",
                    "is_active",
                ]
            },
        ),
        ("Trial (portal subscriptions)", {"fields": ["trial_days", "trial_without_card"]}),
        ("Limits and usage policy", {"fields": ["limits", "hard_limits", "alert_thresholds"]}),
        (
            "Metered overage (billed above the limit; run “Sync selected plans to Stripe” after a change)",
            {"fields": ["overage_resource", "overage_unit_amount", "overage_block_size"]},
        ),
        (
            "Stripe",
            {
                "fields": [
                    "stripe_product_id",
                    "stripe_price_id",
                    "stripe_price_id_yearly",
                    "stripe_overage_price_id",
                    "stripe_overage_price_id_yearly",
                    "created",
                    "updated",
                ]
            },
        ),
    ]
    actions = ["sync_to_stripe"]

    def has_delete_permission(self, request, obj=None):
        # Clear "Is active" instead. Deleting a plan would silently take its commitment terms with
        # it and widen every coupon restricted to it to all plans (no plan listed means any).
        return False

    def save_model(self, request, obj, form, change):
        # Prices and limits change what tenants pay: through the services, which write the audit row.
        data = {
            field: form.cleaned_data[field]
            for field in plan_edits.EDITABLE_FIELDS
            if field in form.cleaned_data
        }
        if change:
            saved, _diff = plan_edits.plan_update(plan=obj, changes=data, actor=request.user.email)
        else:
            saved = plan_edits.plan_create(**data, actor=request.user.email)
        obj.pk = saved.pk
        obj._state.adding = False

    @admin.display(description="Hard limits")
    def hard(self, plan):
        return ", ".join(plan.hard_limits or []) or "—"

    @admin.display(description="Overage")
    def overage(self, plan):
        if not plan.has_overage:
            return "—"
        return (
            f"{money_text(plan.overage_unit_amount, plan.currency)} per "
            f"{plan.overage_block_size:,} {plan.overage_resource} above {plan.overage_limit:,}"
        )

    @admin.display(description="Monthly")
    def monthly(self, plan):
        return money_text(plan.price_monthly, plan.currency)

    @admin.display(description="Yearly")
    def yearly(self, plan):
        return money_text(plan.price_yearly, plan.currency)

    @admin.display(description="Stripe")
    def stripe_status(self, plan):
        wanted = [
            ("product", plan.stripe_product_id),
            ("monthly price", plan.stripe_price_id),
            ("yearly price", plan.stripe_price_id_yearly),
        ]
        if plan.has_overage:
            wanted += [
                (
                    "overage prices",
                    plan.stripe_overage_price_id and plan.stripe_overage_price_id_yearly,
                )
            ]
        missing = [name for name, value in wanted if not value]
        return "synced" if not missing else "not synced (no " + ", ".join(missing) + ")"

    @admin.action(description="Sync selected plans to Stripe", permissions=["change"])
    def sync_to_stripe(self, request, queryset):
        def sync(plan):
            changes = catalog.plan_sync_to_stripe(plan=plan, actor=request.user.email)
            self.message_user(
                request, f"{plan.code}: " + ("; ".join(changes) if changes else "up to date")
            )

        run_each(self, request, queryset, "Plans synced to Stripe", sync)


# --- subscriptions per tenant -------------------------------------------------------------------


class ChangePlanForm(forms.Form):
    plan = forms.ModelChoiceField(
        queryset=Plan.objects.filter(is_active=True), to_field_name="code"
    )
    billing_cycle = forms.ChoiceField(choices=BillingCycle.choices)
    when = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Upgrade now with proration, downgrade at period end"),
            ("now", "Now, with proration"),
            ("period_end", "At period end"),
        ],
    )


class AdvanceClockForm(forms.Form):
    days = forms.IntegerField(min_value=0, max_value=730, initial=30)
    hours = forms.IntegerField(min_value=0, max_value=23, initial=0)

    def clean(self):
        data = super().clean()
        if not data.get("days") and not data.get("hours"):
            raise forms.ValidationError("Advance by at least one hour.")
        return data


@admin.action(description="Advance test clock…")
def advance_test_clock(modeladmin, request, queryset):
    """On tenants and on billing accounts: move the tenant's Stripe test clock and wait until it is
    ready and its webhooks are processed (the service `manage.py advance_clock` uses)."""
    # Moving a clock bills the tenant: the same permission as the other subscription actions.
    if not request.user.has_perm("subscriptions.change_billingaccount"):
        modeladmin.message_user(
            request,
            "Advancing a test clock needs the permission to change billing accounts.",
            messages.ERROR,
        )
        return None
    form = AdvanceClockForm(request.POST if "apply" in request.POST else None)
    if not form.is_valid():
        return _action_page(
            modeladmin,
            request,
            queryset,
            form=form,
            action="advance_test_clock",
            title="Advance test clock",
            submit="Advance",
            intro="Move these tenants' Stripe test clocks forward. Renewals, trial ends and "
            "payment retries of the skipped time happen now; the page returns when "
            "the clocks are ready and their webhooks processed.",
        )
    tenants = [obj.tenant if isinstance(obj, BillingAccount) else obj for obj in queryset]

    def advance(tenant):
        account = clocks.test_clock_advance(
            tenant=tenant,
            days=form.cleaned_data["days"],
            seconds=form.cleaned_data["hours"] * 3600,
            actor=request.user.email,
        )
        modeladmin.message_user(
            request,
            f"{tenant.slug}: clock at {account.clock_time:%Y-%m-%d %H:%M} UTC, "
            f"subscription {account.status or 'none'}",
        )

    run_each(modeladmin, request, tenants, "Test clocks advanced", advance)
    return None


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    """One row per tenant: its Stripe customer and subscription as last read from Stripe."""

    list_display = [
        "tenant",
        "status",
        "plan",
        "billing_cycle",
        "cancel_at_period_end",
        "current_period_end",
        "trial_end",
        "clock_time",
        "stripe_customer_id",
    ]
    list_filter = ["status", "plan", "billing_cycle", "cancel_at_period_end"]
    search_fields = ["tenant__slug", "tenant__name", "stripe_customer_id", "subscription_id"]
    list_select_related = ["tenant", "plan"]
    readonly_fields = [
        "tenant",
        "stripe_customer_id",
        "test_clock_id",
        "clock_time",
        "subscription_id",
        "status",
        "plan",
        "billing_cycle",
        "cancel_at_period_end",
        "trial_end",
        "current_period_start",
        "current_period_end",
        "latest_invoice_id",
        "past_due_since",
        "previous_plan",
        "previous_plan_until",
        "updated",
        "mirrored_subscriptions",
    ]
    actions = [
        "cancel_at_period_end_action",
        "resume",
        "cancel_now",
        "change_plan",
        advance_test_clock,
        "resync",
    ]

    def has_add_permission(self, request):
        return False  # created with the tenant's Stripe customer

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # The row is Stripe's state: changed only through the actions (obj=None is the changelist's check).
        return obj is None and super().has_change_permission(request, obj)

    @admin.display(description="Stripe subscriptions (dj-stripe mirror)")
    def mirrored_subscriptions(self, account):
        from djstripe.models import Subscription

        if not account.stripe_customer_id:
            return "-"
        rows = Subscription.objects.filter(customer__id=account.stripe_customer_id).order_by(
            "-created"
        )
        return format_html_join(mark_safe("<br>"), "{} {}", ((s.id, s.status) for s in rows)) or "-"

    def _each(self, request, queryset, label, call):
        run_each(
            self,
            request,
            [account.tenant for account in queryset.select_related("tenant")],
            label,
            call,
        )

    @admin.action(description="Cancel at period end", permissions=["change"])
    def cancel_at_period_end_action(self, request, queryset):
        self._each(
            request,
            queryset,
            "Set to cancel at period end",
            lambda tenant: sub_services.subscription_set_cancel_at_period_end(
                tenant=tenant, cancel=True, actor=request.user.email
            ),
        )

    @admin.action(description="Resume (undo cancel at period end)", permissions=["change"])
    def resume(self, request, queryset):
        self._each(
            request,
            queryset,
            "Resumed",
            lambda tenant: sub_services.subscription_set_cancel_at_period_end(
                tenant=tenant, cancel=False, actor=request.user.email
            ),
        )

    @admin.action(description="Cancel now", permissions=["change"])
    def cancel_now(self, request, queryset):
        self._each(
            request,
            queryset,
            "Canceled",
            lambda tenant: sub_services.subscription_cancel_now(
                tenant=tenant, actor=request.user.email
            ),
        )

    @admin.action(description="Change plan…", permissions=["change"])
    def change_plan(self, request, queryset):
        form = ChangePlanForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return _action_page(
                self,
                request,
                queryset,
                form=form,
                action="change_plan",
                title="Change plan",
                submit="Change plan",
                intro="New plan and billing cycle of these tenants' subscriptions.",
            )
        data = form.cleaned_data
        self._each(
            request,
            queryset,
            "Plan changed",
            lambda tenant: sub_services.subscription_change_plan(
                tenant=tenant,
                plan_id=data["plan"].code,
                billing_cycle=data["billing_cycle"],
                when=data["when"] or None,
                actor=request.user.email,
            ),
        )
        return None

    @admin.action(description="Pull from Stripe (resync)", permissions=["change"])
    def resync(self, request, queryset):
        self._each(
            request, queryset, "Pulled from Stripe", lambda tenant: tenant_resync(tenant=tenant)
        )


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    """Received Stripe events, processed once by id (`manage.py replay_webhooks` processes them again)."""

    list_display = ["received", "event_id", "type", "tenant", "status", "attempts", "processed_at"]
    list_filter = ["status", "type"]
    search_fields = ["event_id", "type", "tenant__slug"]
    readonly_fields = [
        "event_id",
        "type",
        "tenant",
        "status",
        "error",
        "attempts",
        "payload",
        "stripe_created",
        "received",
        "processed_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # The record of what Stripe sent and what was done with it (and the guard against handling
        # a redelivery twice): kept, not deleted by hand.
        return False


# The tenants' admin is the tenants app's; the action that moves a tenant through time is this app's.
_tenant_admin: "admin.ModelAdmin[Tenant] | None"
try:
    _tenant_admin = admin.site.get_model_admin(Tenant)
except NotRegistered:
    _tenant_admin = None
if _tenant_admin is not None and advance_test_clock not in (_tenant_admin.actions or ()):
    _tenant_admin.actions = [*(_tenant_admin.actions or ()), advance_test_clock]
