"""Finance back-office: the plan catalog."""

from django.contrib import admin

from billing_project.money import to_major
from subscriptions.models import Plan


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "monthly", "yearly", "currency", "is_public", "is_active"]
    list_filter = ["is_public", "is_active"]
    search_fields = ["code", "name"]
    readonly_fields = ["stripe_product_id", "stripe_price_id", "stripe_price_id_yearly", "created", "updated"]

    @admin.display(description="Monthly")
    def monthly(self, plan):
        return to_major(plan.price_monthly, plan.currency)

    @admin.display(description="Yearly")
    def yearly(self, plan):
        return to_major(plan.price_yearly, plan.currency)
