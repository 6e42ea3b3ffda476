"""Finance edits the one billing-policy row, through `policies.services.policy_update`, which writes
the audit row (before/after) of every change."""

from django.contrib import admin

from policies.models import BillingPolicy
from policies.selectors import policy_defaults
from policies.services import EDITABLE_FIELDS, policy_update


@admin.register(BillingPolicy)
class BillingPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "retry_days",
        "end_state",
        "refund_approval_threshold",
        "overdue_grace_days",
        "updated",
    ]
    fields = tuple(EDITABLE_FIELDS)

    def has_add_permission(self, request):
        return not BillingPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def get_changeform_initial_data(self, request):
        # The first edit starts from the policy in force: the settings' defaults.
        return {**policy_defaults(), **super().get_changeform_initial_data(request)}

    def save_model(self, request, obj, form, change):
        saved, _diff = policy_update(
            changes={field: form.cleaned_data[field] for field in EDITABLE_FIELDS},
            actor=request.user.email,
        )
        obj.pk = saved.pk
        obj._state.adding = False
