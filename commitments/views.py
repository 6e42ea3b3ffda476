"""Portal page of the minimum commitment and progressive billing: this period's commitment and
spend so far, the usage billing threshold and usage charges so far, past true-ups and threshold
invoices (which are also in the invoice list, as the invoices they are)."""

import logging

from django.shortcuts import render
from django.views.decorators.cache import never_cache

from billing_project.errors import DomainError
from billing_project.timestamps import from_ts
from commitments import selectors
from portal.access import member_required

logger = logging.getLogger(__name__)


@never_cache
@member_required
def commitments_page(request):
    tenant = request.tenant
    terms = selectors.terms_get(tenant=tenant)
    try:
        progress = selectors.commitment_progress(tenant=tenant)
    except DomainError as exc:  # Stripe unreachable: the terms still show
        logger.warning("commitment progress of %s not read: %s", tenant.slug, exc)
        progress = None
    shortfall = None
    if progress is not None and progress.committed is not None:
        shortfall = max(progress.committed - progress.spent, 0)
    context = {
        "terms": terms,
        "progress": progress,
        "shortfall": shortfall,
        "period_start": from_ts(progress.period_start) if progress else None,
        "period_end": from_ts(progress.period_end) if progress else None,
        "true_ups": selectors.true_up_list(tenant=tenant)[:24],
        "threshold_invoices": selectors.threshold_invoice_list(tenant=tenant)[:50],
    }
    return render(request, "commitments/portal_commitments.html", context)
