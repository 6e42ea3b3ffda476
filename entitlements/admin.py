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

    @admin.display(description="Granted by")
    def plans(self, feature):
        codes = [p.code for p in Plan.objects.all() if feature.key in (p.feature_keys or [])]
        return ", ".join(codes) or "—"
