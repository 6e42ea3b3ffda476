"""Finance edits the one billing-policy row."""

from django.contrib import admin

from policies.models import BillingPolicy


@admin.register(BillingPolicy)
class BillingPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "retry_days", "end_state", "refund_approval_threshold", "overdue_grace_days", "updated"]

    def has_add_permission(self, request):
        return not BillingPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
