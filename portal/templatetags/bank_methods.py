"""{% sepa_mandate_text %}: Stripe's SEPA Direct Debit mandate, in the visitor's language, naming the
platform (the seller) as the creditor. {% processing_invoice tenant as invoice %}: the tenant's
invoice whose bank debit is processing (the dashboard's notice)."""

from django import template
from django.conf import settings

from invoicing.selectors import invoice_processing_get
from subscriptions.services.bank_methods import SEPA_MANDATE_TEXT

register = template.Library()


@register.simple_tag
def sepa_mandate_text() -> str:
    return str(SEPA_MANDATE_TEXT) % {"merchant": settings.INVOICE_BRAND_NAME}


@register.simple_tag
def processing_invoice(tenant):
    return invoice_processing_get(tenant=tenant)
