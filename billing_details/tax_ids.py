"""Tax ID validation per Stripe tax ID type, with python-stdnum (a maintained library of
checksums and formats for national identifiers)."""

from __future__ import annotations

from importlib import import_module

from stdnum.exceptions import ValidationError as StdnumValidationError

# Stripe's type -> the stdnum module that validates it. Types Stripe knows but stdnum does not
# check are accepted as typed (non-empty, at most 64 characters).
VALIDATORS = {
    "ar_cuit": "stdnum.ar.cuit",
    "au_abn": "stdnum.au.abn",
    "br_cnpj": "stdnum.br.cnpj",
    "br_cpf": "stdnum.br.cpf",
    "ca_bn": "stdnum.ca.bn",
    "ch_vat": "stdnum.ch.vat",
    "cl_tin": "stdnum.cl.rut",
    "co_nit": "stdnum.co.nit",
    "ec_ruc": "stdnum.ec.ruc",
    "es_cif": "stdnum.es.cif",
    "eu_vat": "stdnum.eu.vat",
    "gb_vat": "stdnum.gb.vat",
    "in_gst": "stdnum.in_.gstin",
    "is_vat": "stdnum.is_.vsk",
    "mx_rfc": "stdnum.mx.rfc",
    "no_vat": "stdnum.no.mva",
    "nz_gst": "stdnum.nz.ird",
    "pe_ruc": "stdnum.pe.ruc",
    "tr_tin": "stdnum.tr.vkn",
    "us_ein": "stdnum.us.ein",
    "uy_ruc": "stdnum.uy.rut",
    "za_vat": "stdnum.za.tin",
}
OTHER_TYPES = {"ca_gst_hst", "ca_qst", "hk_br", "jp_cn", "jp_trn", "kr_brn", "sg_gst", "sg_uen"}
TAX_ID_TYPES = tuple(sorted({*VALIDATORS, *OTHER_TYPES}))
# Written as Stripe's examples write them: CNPJ 11.222.333/0001-81, CPF 123.456.789-09, EIN
# 12-3456789 (stdnum's format); GB VAT with its GB prefix; the others compact.
_FORMATTED = {"br_cnpj", "br_cpf", "us_ein"}


def tax_id_clean(kind: str, value: str) -> str:
    """The tax ID as Stripe should store it, or ValueError with a message for the field."""
    value = (value or "").strip()
    if kind not in TAX_ID_TYPES:
        raise ValueError(
            f"Unknown tax ID type {kind!r}; use one of Stripe's ({', '.join(TAX_ID_TYPES)})."
        )
    if not value or len(value) > 64:
        raise ValueError("Enter the tax ID.")
    if kind not in VALIDATORS:
        return value
    module = import_module(VALIDATORS[kind])
    try:
        compact = module.validate(value)
    except StdnumValidationError as exc:
        raise ValueError(
            f"This is not a valid {kind} number ({exc.message.rstrip('.').lower()})."  # type: ignore[attr-defined]  # python-stdnum raises its subclasses (InvalidFormat, InvalidChecksum, ...), which set `message`; the base class does not declare it
        ) from None
    if kind in _FORMATTED:
        return module.format(compact)
    if kind == "gb_vat" and not compact.startswith("GB"):
        return f"GB{compact}"
    return compact
