"""Portal URLs of SEPA Direct Debit, PayPal and billing details (in the portal's namespace: included
by portal.urls)."""

from django.urls import path

from portal import bank_method_views, billing_details_views

urlpatterns = [
    path(
        "payment-methods/sepa/",
        bank_method_views.payment_method_sepa_add,
        name="payment-method-sepa-add",
    ),
    path(
        "payment-methods/paypal/",
        bank_method_views.payment_method_paypal_start,
        name="payment-method-paypal",
    ),
    path(
        "payment-methods/paypal/return/",
        bank_method_views.payment_method_paypal_return,
        name="payment-method-paypal-return",
    ),
    path("billing-details/", billing_details_views.billing_details, name="billing-details"),
]
