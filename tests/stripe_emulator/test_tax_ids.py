"""Customer tax IDs and invoice custom fields in the emulator, as Stripe documents them."""

import pytest
import stripe


def test_tax_ids_are_created_listed_expanded_and_deleted(stripe_client, stripe_emulator_fresh):
    client = stripe_client
    customer = client.v1.customers.create(params={"name": "Acme"})
    cnpj = client.v1.customers.tax_ids.create(
        customer.id, params={"type": "br_cnpj", "value": "11.222.333/0001-81"}
    )
    vat = client.v1.customers.tax_ids.create(
        customer.id, params={"type": "eu_vat", "value": "DE136695976"}
    )
    assert (cnpj.object, cnpj.country, cnpj.owner.customer) == ("tax_id", "BR", customer.id)
    assert vat.country == "DE" and vat.verification.status == "pending"
    expanded = client.v1.customers.retrieve(customer.id, params={"expand": ["tax_ids"]})
    assert {t.id for t in expanded.tax_ids.data} == {cnpj.id, vat.id}
    client.v1.customers.tax_ids.delete(customer.id, cnpj.id)
    assert [t.id for t in client.v1.customers.tax_ids.list(customer.id).data] == [vat.id]


def test_an_unknown_tax_id_type_is_refused(stripe_client, stripe_emulator_fresh):
    customer = stripe_client.v1.customers.create(params={"name": "Acme"})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.customers.tax_ids.create(
            customer.id, params={"type": "xx_nope", "value": "1"}
        )
    assert caught.value.param == "type"


def test_invoice_custom_fields_and_preferred_locales(stripe_client, stripe_emulator_fresh):
    customer = stripe_client.v1.customers.create(params={"name": "Acme"})
    updated = stripe_client.v1.customers.update(
        customer.id,
        params={
            "preferred_locales": ["pt-BR"],
            "address": {"line1": "Av. Paulista, 1000", "city": "São Paulo", "country": "BR"},
            "invoice_settings": {"custom_fields": [{"name": "PO", "value": "PO-42"}]},
        },
    )
    assert updated.preferred_locales == ["pt-BR"] and updated.address.city == "São Paulo"
    assert updated.invoice_settings.custom_fields[0].value == "PO-42"
    cleared = stripe_client.v1.customers.update(
        customer.id, params={"invoice_settings": {"custom_fields": ""}}
    )
    assert cleared.invoice_settings.custom_fields is None
