"""`{% commitment_terms %}`: the tenant's minimum commitment and usage billing threshold, a line on
the dashboard beside the plan's usage (read from the database only, never Stripe)."""

from django import template

from commitments.selectors import terms_get

register = template.Library()


@register.inclusion_tag("commitments/_terms.html", takes_context=True)
def commitment_terms(context):
    request = context.get("request")
    tenant = getattr(request, "tenant", None)
    return {"terms": terms_get(tenant=tenant) if tenant is not None else None}
