"""Finance back-office for the feature catalog: keys and their display names in en, pt-BR and es.
Which plan grants which feature is the plan's `feature_keys` (Plans admin)."""

from django.contrib import admin

from entitlements.models import Feature
from subscriptions.models import Plan


@admin.register(Feature)
class FeatureAdmin(admin.ModelAdmin):
    list_display = ["key", "name_en", "name_pt_br", "name_es", "plans", "position"]
    search_fields = ["key", "name_en", "name_pt_br", "name_es"]

    def get_readonly_fields(self, request, obj=None):
        # Plans refer to the key: renaming it would silently take the feature away from them.
        return ["key"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        # As for renaming: deleting a key plans still grant would silently take it away from them.
        if obj is not None and _granted_by(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        # One at a time, through the check above (the bulk action does not ask per row).
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="Granted by")
    def plans(self, feature):
        return ", ".join(_granted_by(feature)) or "—"


def _granted_by(feature) -> list[str]:
    """The codes of the plans that grant the feature."""
    return [p.code for p in Plan.objects.all() if feature.key in (p.feature_keys or [])]
