from django import template

from entitlements import selectors

register = template.Library()


@register.inclusion_tag("entitlements/_features.html")
def plan_features(tenant) -> dict:
    """The effective plan's features, named in the active language, for portal pages."""
    return {"features": selectors.entitlements_effective(tenant=tenant)["features"]}
