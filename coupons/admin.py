"""Finance back-office for the coupons app: create (through the service, so Stripe mirrors it),
disable, mirror to Stripe, redemptions read-only. Actions are audit-logged by the services."""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect

from billing_project.admin_kit import MajorUnitsForm, MoneyAdmin
from billing_project.api.exceptions import DomainError
from billing_project.money import money_text
from coupons import services
from coupons.models import Coupon, CouponRedemption
from subscriptions.admin import run_each

CREATE_FIELDS = [
    "code",
    "name",
    "percent_off",
    "amount_off",
    "currency",
    "duration",
    "duration_in_months",
    "max_redemptions",
    "valid_from",
    "redeem_by",
    "plans",
    "first_subscription_only",
    "auto_apply",
]


class CouponForm(MajorUnitsForm):
    major_units = ("amount_off",)

    class Meta:
        model = Coupon
        fields = CREATE_FIELDS


class CouponRedemptionInline(admin.TabularInline):
    model = CouponRedemption
    extra = 0
    can_delete = False
    fields = readonly_fields = ("tenant", "status", "subscription_id", "actor", "created")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Coupon)
class CouponAdmin(MoneyAdmin):
    form = CouponForm
    money_fields = {"amount_off": "currency"}
    list_display = [
        "code",
        "name",
        "discount",
        "duration",
        "redemptions",
        "is_active",
        "auto_apply",
        "stripe",
        "created",
    ]
    list_filter = ["is_active", "duration", "auto_apply"]
    search_fields = ["code", "name"]
    inlines = [CouponRedemptionInline]
    actions = ["disable", "mirror_to_stripe"]

    def has_change_permission(self, request, obj=None):
        # A coupon's terms are fixed once customers may hold it (Stripe coupons are immutable too):
        # disable it and create another. obj=None is the changelist's (actions') check.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # redemptions refer to it; disable instead

    def get_inlines(self, request, obj):
        return self.inlines if obj else []

    @admin.display(description="Discount")
    def discount(self, coupon):
        if coupon.percent_off is not None:
            return f"{coupon.percent_off}%"
        return money_text(coupon.amount_off, coupon.currency)

    @admin.display(description="Redeemed")
    def redemptions(self, coupon):
        return f"{coupon.times_redeemed} / {coupon.max_redemptions if coupon.max_redemptions is not None else '∞'}"

    @admin.display(description="Stripe")
    def stripe(self, coupon):
        return (
            "mirrored"
            if coupon.stripe_coupon_id and coupon.stripe_promotion_code_id
            else "not mirrored"
        )

    def save_model(self, request, obj, form, change):
        data = {field: form.cleaned_data[field] for field in CREATE_FIELDS}
        try:
            created = services.coupon_create(
                **{**data, "plans": list(data["plans"])}, actor=request.user.email
            )
        except DomainError as exc:  # Stripe refused or is down: nothing was created
            self.message_user(request, f"Coupon not created: {exc.message}", messages.ERROR)
            return
        obj.pk, obj.code = created.pk, created.code
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        pass  # the service set the plans

    def log_addition(self, request, obj, message):
        if obj.pk is not None:
            return super().log_addition(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        if obj.pk is None:
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description="Disable selected coupons", permissions=["change"])
    def disable(self, request, queryset):
        run_each(
            self,
            request,
            queryset.filter(is_active=True),
            "Coupons disabled",
            lambda coupon: services.coupon_disable(coupon=coupon, actor=request.user.email),
        )

    @admin.action(
        description="Mirror to Stripe (coupons created while Stripe was not configured)",
        permissions=["change"],
    )
    def mirror_to_stripe(self, request, queryset):
        run_each(
            self,
            request,
            queryset,
            "Coupons mirrored to Stripe",
            lambda coupon: services.coupon_sync_to_stripe(coupon=coupon, actor=request.user.email),
        )
