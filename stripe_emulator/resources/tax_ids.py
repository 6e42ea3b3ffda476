"""Customer tax IDs (``/v1/customers/{id}/tax_ids``), as Stripe documents them: type and value, an
owner, a verification, ``customer.tax_id.created`` / ``.deleted`` events, and ``expand[]=tax_ids`` on
the customer. The emulator checks the type against Stripe's list, not the value (Stripe verifies some
types asynchronously; here the verification stays ``unverified``, or ``pending`` for EU VAT numbers)."""

from __future__ import annotations

from ..encoding import get_str
from ..errors import invalid
from ..events import emit
from ..routing import route
from ..state import new_id
from .base import list_objects

# Stripe's tax ID types (a subset of its list: the ones a billing platform meets most) -> country.
TAX_ID_TYPES = {
    "ad_nrt": "AD",
    "ar_cuit": "AR",
    "au_abn": "AU",
    "au_arn": "AU",
    "bo_tin": "BO",
    "br_cnpj": "BR",
    "br_cpf": "BR",
    "ca_bn": "CA",
    "ca_gst_hst": "CA",
    "ca_qst": "CA",
    "ch_vat": "CH",
    "cl_tin": "CL",
    "cn_tin": "CN",
    "co_nit": "CO",
    "cr_tin": "CR",
    "ec_ruc": "EC",
    "es_cif": "ES",
    "eu_oss_vat": None,
    "eu_vat": None,
    "gb_vat": "GB",
    "hk_br": "HK",
    "id_npwp": "ID",
    "il_vat": "IL",
    "in_gst": "IN",
    "is_vat": "IS",
    "jp_cn": "JP",
    "jp_trn": "JP",
    "kr_brn": "KR",
    "mx_rfc": "MX",
    "my_sst": "MY",
    "no_vat": "NO",
    "nz_gst": "NZ",
    "pe_ruc": "PE",
    "ph_tin": "PH",
    "sg_gst": "SG",
    "sg_uen": "SG",
    "th_vat": "TH",
    "tr_tin": "TR",
    "tw_vat": "TW",
    "us_ein": "US",
    "uy_ruc": "UY",
    "za_vat": "ZA",
}


def _tax_ids_of(state, customer_id):
    return [t for t in state.all("tax_id") if t["customer"] == customer_id]


def customer_tax_ids(state, customer):
    """``expand[]=tax_ids`` on a customer: a list object, newest first."""
    found = [state.render(t) for t in _tax_ids_of(state, customer["id"])]
    return {
        "object": "list",
        "data": found,
        "has_more": False,
        "url": f"/v1/customers/{customer['id']}/tax_ids",
    }


@route("POST", "/v1/customers/{id}/tax_ids")
def create_tax_id(ctx, id):
    customer = ctx.state.get("customer", id)
    kind = get_str(ctx.params, "type", required=True)
    value = get_str(ctx.params, "value", required=True)
    if kind not in TAX_ID_TYPES:
        raise invalid(
            f"Invalid value for type: {kind} is not a supported tax ID type.", param="type"
        )
    if not value.strip():
        raise invalid("Invalid value for tax ID.", param="value", code="tax_id_invalid")
    # An EU VAT number names its country (Greek ones start with EL, Stripe reports GR).
    country = TAX_ID_TYPES[kind] or (value[:2].upper() if value[:2].isalpha() else None)
    tax_id = {
        "id": new_id("txi"),
        "object": "tax_id",
        "country": "GR" if country == "EL" else country,
        "created": ctx.state.now(id),
        "customer": id,
        "livemode": False,
        "owner": {"customer": id, "type": "customer"},
        "type": kind,
        "value": value,
        "verification": {
            "status": "pending" if kind == "eu_vat" else "unverified",
            "verified_address": None,
            "verified_name": None,
        },
    }
    ctx.state.add(tax_id)
    emit(ctx.state, "customer.tax_id.created", tax_id)
    del customer  # looked up for the 404 only
    return ctx.out(tax_id)


@route("GET", "/v1/customers/{id}/tax_ids")
def list_tax_ids(ctx, id):
    ctx.state.get("customer", id)
    return list_objects(ctx, "tax_id", f"/v1/customers/{id}/tax_ids", lambda t: t["customer"] == id)


@route("GET", "/v1/customers/{id}/tax_ids/{tax_id}")
def get_tax_id(ctx, id, tax_id):
    found = ctx.state.get("tax_id", tax_id)
    if found["customer"] != id:
        ctx.state.get("tax_id", "")  # Stripe's 404 for another customer's tax ID
    return ctx.out(found)


@route("DELETE", "/v1/customers/{id}/tax_ids/{tax_id}")
def delete_tax_id(ctx, id, tax_id):
    found = ctx.state.get("tax_id", tax_id)
    if found["customer"] != id:
        ctx.state.get("tax_id", "")
    found["_deleted"] = True
    ctx.state.dirty = True
    emit(ctx.state, "customer.tax_id.deleted", found)
    return ctx.out({"id": tax_id, "object": "tax_id", "deleted": True})


INCLUDES_BY_TYPE = {("customer", "tax_ids"): customer_tax_ids}
