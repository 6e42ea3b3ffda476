"""The portal's billing details page: owners and billing admins edit what the invoices print about
the buyer (and Stripe's customer keeps); other members read it."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from billing_details import selectors, services
from billing_project.errors import DomainError
from portal.access import WRITE_ROLES, member_required
from portal.billing_details_forms import BillingDetailsForm


@never_cache
@member_required
def billing_details(request):
    details = selectors.billing_details_get(tenant=request.tenant)
    can_write = request.membership.role in WRITE_ROLES
    if request.method == "POST":
        form = BillingDetailsForm(request.POST)
        if form.is_valid():
            try:
                services.billing_details_update(
                    tenant=request.tenant, data=form.service_data(), actor=request.user.email
                )
            except DomainError as exc:
                if isinstance(exc.detail, dict):
                    form.place_errors(exc.detail)
                else:
                    form.add_error(None, exc.message)
            else:
                messages.success(request, _("Your billing details were saved."))
                return redirect("portal:billing-details")
        status = 400
    else:
        form, status = BillingDetailsForm(initial=BillingDetailsForm.initial_from(details)), 200
    return render(
        request,
        "portal/billing_details.html",
        {"form": form, "details": details, "can_write": can_write},
        status=status,
    )
