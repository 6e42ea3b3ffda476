"""SEPA Direct Debit and PayPal payment methods, as Stripe's test mode runs them.

SEPA Direct Debit (``type=sepa_debit``, ``sepa_debit[iban]``): a payment does not settle at once. Its
PaymentIntent goes ``processing`` (its charge ``pending``, ``payment_intent.processing``), and settles
later: ``succeeded`` or ``requires_payment_method`` with a failed charge, by Stripe's test IBANs:
``AT611904300234573201`` and ``DE89370400440532013000`` succeed, ``AT861904300235473202`` fails (any
other valid IBAN succeeds). The emulator settles a payment ``settlement_seconds`` (setting; Stripe's
test mode takes about three minutes) after it started, when the customer's test clock moves past that
time, or at once through the control call ``POST /_emulator/settle``. A SetupIntent confirmed with
``mandate_data`` creates a multi-use ``mandate`` (``GET /v1/mandates/{id}``).

PayPal (``type=paypal``): set up with a SetupIntent confirmed with a ``return_url``; the SetupIntent goes
``requires_action`` with ``next_action.redirect_to_url`` pointing at the emulator's approval page
(stripe_emulator.paypal), where the payer approves or declines, as on PayPal's sandbox. Once approved,
the payment method carries the payer's email and id, and off-session payments succeed at once.
"""

from __future__ import annotations

import hashlib

from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError

from ..encoding import diff
from ..errors import StripeError, invalid
from ..events import emit
from ..routing import route
from ..state import new_id
from .base import address, retrieve

# Stripe's test IBANs and how their payments settle; other valid IBANs succeed.
SEPA_TEST_IBANS = {
    "AT611904300234573201": "succeeded",
    "AT861904300235473202": "failed",
    "DE89370400440532013000": "succeeded",
}
SEPA_FAILURE = {
    "code": "insufficient_funds",
    "message": "The customer's account has insufficient funds to cover this payment.",
}
DEFAULT_SETTLEMENT_SECONDS = 180
PAYPAL_PAGE = "/_emulator/paypal/"
# Bank and branch codes sit at these positions of the BBAN for the test IBANs' countries.
_BANK_CODE = {"AT": (4, 9, None), "DE": (4, 12, None), "FR": (4, 9, (9, 14)), "ES": (4, 8, (8, 12))}


def _public_url(state) -> str:
    """Where a browser reaches the emulator (set by the server when it binds)."""
    return getattr(state, "public_url", None) or "http://127.0.0.1:12111"


# The currencies each non-card PaymentMethod type can pay in (Stripe: SEPA Direct Debit only EUR).
SUPPORTED_CURRENCIES = {"sepa_debit": ("eur",)}


def currency_error(kind, currency):
    """Stripe's answer to paying ``currency`` with a method of type ``kind`` that cannot (a 400
    ``invalid_request_error``, ``payment_intent_invalid_parameter``, worded as Stripe words it),
    or None when the type can pay in that currency."""
    supported = SUPPORTED_CURRENCIES.get(kind)
    currency = (currency or "").lower()
    if supported is None or currency in supported:
        return None
    return StripeError(
        400,
        f"The currency provided ({currency}) is invalid for one or more payment method types on "
        f"this PaymentIntent. The payment method type {kind} only supports the following "
        f"currencies: {', '.join(supported)}. Either correct the provided currency, or use a "
        "different PaymentIntent to accept this payment method type.",
        code="payment_intent_invalid_parameter",
        param="currency",
    )


def check_currency(pm, currency):
    """Raise Stripe's error when ``pm`` cannot pay in ``currency`` (before anything is created)."""
    error = currency_error((pm or {}).get("type"), currency)
    if error is not None:
        raise error


def is_delayed(pm) -> bool:
    """Payments with this method go ``processing`` and settle later (SEPA Direct Debit)."""
    return (pm or {}).get("type") == "sepa_debit"


def _details(billing):
    billing = billing if isinstance(billing, dict) else {}
    return {
        "address": address(billing.get("address")),
        "email": billing.get("email"),
        "name": billing.get("name"),
        "phone": billing.get("phone"),
        "tax_id": None,
    }


def _skeleton(state, kind, billing, metadata):
    return {
        "id": new_id("pm"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": _details(billing),
        "created": state.now(),
        "customer": None,
        "customer_account": None,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "type": kind,
        "_behavior": "ok",
    }


def build_sepa_pm(state, raw_iban, billing_details=None, metadata=None):
    """A ``sepa_debit`` payment method for an IBAN (400 ``invalid_bank_account_iban`` when invalid)."""
    try:
        number = stdnum_iban.validate(str(raw_iban or ""))
    except ValidationError:
        raise invalid(
            "The IBAN you provided is invalid.",
            param="sepa_debit[iban]",
            code="invalid_bank_account_iban",
        ) from None
    country = number[:2]
    bank, branch = None, None
    if country in _BANK_CODE:
        start, end, branch_at = _BANK_CODE[country]
        bank = number[start:end]
        branch = number[branch_at[0] : branch_at[1]] if branch_at else None
    pm = _skeleton(state, "sepa_debit", billing_details, metadata)
    pm["sepa_debit"] = {
        "bank_code": bank,
        "branch_code": branch,
        "country": country,
        "fingerprint": hashlib.sha256(number.encode()).hexdigest()[:16],
        "generated_from": {"charge": None, "setup_attempt": None},
        "last4": number[-4:],
    }
    pm["_settles"] = SEPA_TEST_IBANS.get(number, "succeeded")
    return state.add(pm)


def build_paypal_pm(state, billing_details=None, metadata=None):
    """A ``paypal`` payment method; the payer's email and id come with the approval."""
    pm = _skeleton(state, "paypal", billing_details, metadata)
    pm["paypal"] = {"country": None, "payer_email": None, "payer_id": None}
    return state.add(pm)


def create(state, kind, params):
    """``POST /v1/payment_methods`` for the non-card types; None for a type handled elsewhere."""
    if kind == "sepa_debit":
        data = params.get("sepa_debit")
        iban = data.get("iban") if isinstance(data, dict) else None
        if not iban:
            raise invalid("Missing required param: sepa_debit[iban].", param="sepa_debit[iban]")
        return build_sepa_pm(state, iban, params.get("billing_details"), params.get("metadata"))
    if kind == "paypal":
        return build_paypal_pm(state, params.get("billing_details"), params.get("metadata"))
    return None


# ---- mandates ------------------------------------------------------------------------------


def create_mandate(state, pm, customer_id, mandate_data):
    """A multi-use mandate from a SetupIntent's ``mandate_data[customer_acceptance]``."""
    acceptance = (mandate_data or {}).get("customer_acceptance")
    if not isinstance(acceptance, dict) or acceptance.get("type") not in ("online", "offline"):
        raise invalid(
            "A mandate is required: pass mandate_data[customer_acceptance][type] (online or offline).",
            param="mandate_data",
        )
    online = acceptance.get("online") if isinstance(acceptance.get("online"), dict) else {}
    mandate_id = new_id("mandate")
    reference = mandate_id[-16:].upper()
    details = {"type": pm["type"]}
    if pm["type"] == "sepa_debit":
        details["sepa_debit"] = {
            "reference": reference,
            "url": f"{_public_url(state)}/_emulator/mandates/{mandate_id}",
        }
    else:
        details[pm["type"]] = {}
    mandate = {
        "id": mandate_id,
        "object": "mandate",
        "customer_acceptance": {
            "accepted_at": state.now(customer_id),
            "online": {
                "ip_address": online.get("ip_address"),
                "user_agent": online.get("user_agent"),
            }
            if acceptance["type"] == "online"
            else None,
            "offline": {} if acceptance["type"] == "offline" else None,
            "type": acceptance["type"],
        },
        "livemode": False,
        "multi_use": {},
        "on_behalf_of": None,
        "payment_method": pm["id"],
        "payment_method_details": details,
        "status": "active",
        "type": "multi_use",
        "_customer": customer_id,
    }
    state.add(mandate)
    pm["_mandate"] = mandate_id
    return mandate


@route("GET", "/v1/mandates/{id}")
def get_mandate(ctx, id):
    return retrieve(ctx, "mandate", id)


# ---- SetupIntents ----------------------------------------------------------------------------


def confirm_setup(state, seti, pm, params):
    """Confirm a SetupIntent for a SEPA or PayPal method. Returns False for cards (handled by the
    card emulation), True when this function decided the outcome."""
    from .payment_methods import attach

    if pm["type"] not in ("sepa_debit", "paypal"):
        return False
    if pm["type"] not in seti["payment_method_types"]:
        raise invalid(
            f"The payment method type {pm['type']!r} is not allowed by this SetupIntent's "
            f"payment_method_types ({', '.join(seti['payment_method_types'])}).",
            param="payment_method",
            code="payment_intent_incompatible_payment_method",
        )
    before = state.render(seti)
    seti["payment_method"] = pm["id"]
    if pm["type"] == "sepa_debit":
        mandate = create_mandate(state, pm, seti["customer"], params.get("mandate_data"))
        seti.update(status="succeeded", next_action=None, last_setup_error=None)
        seti["mandate"] = mandate["id"]
        if seti["customer"]:
            attach(state, pm, seti["customer"])
        state.dirty = True
        emit(state, "setup_intent.succeeded", seti, previous=diff(before, state.render(seti)))
        return True
    return_url = params.get("return_url") or seti.get("_return_url")
    if not return_url:
        raise invalid(
            "A return_url is required to confirm a SetupIntent with a paypal payment method.",
            param="return_url",
        )
    seti["_return_url"] = return_url
    seti.update(
        status="requires_action",
        next_action={
            "type": "redirect_to_url",
            "redirect_to_url": {
                "return_url": return_url,
                "url": f"{_public_url(state)}{PAYPAL_PAGE}{seti['id']}",
            },
        },
    )
    state.dirty = True
    emit(state, "setup_intent.requires_action", seti, previous=diff(before, state.render(seti)))
    return True


def paypal_approve(state, seti, payer_email):
    """The payer approved the billing agreement: the method is attached and reusable."""
    from .payment_methods import attach

    pm = state.get("payment_method", seti["payment_method"])
    before = state.render(seti)
    pm["paypal"].update(
        payer_email=payer_email,
        payer_id=hashlib.sha256(payer_email.encode()).hexdigest()[:13].upper(),
        country="DE",
    )
    pm["billing_details"]["email"] = payer_email
    mandate = create_mandate(
        state, pm, seti["customer"], {"customer_acceptance": {"type": "online", "online": {}}}
    )
    seti.update(status="succeeded", next_action=None, last_setup_error=None, mandate=mandate["id"])
    if seti["customer"]:
        attach(state, pm, seti["customer"])
    state.dirty = True
    emit(state, "setup_intent.succeeded", seti, previous=diff(before, state.render(seti)))


def paypal_decline(state, seti):
    """The payer cancelled on PayPal: the SetupIntent waits for another payment method."""
    before = state.render(seti)
    pm = state.find(seti["payment_method"], "payment_method")
    seti.update(
        status="requires_payment_method",
        next_action=None,
        last_setup_error={
            "type": "invalid_request_error",
            "code": "setup_intent_authentication_failure",
            "message": "The customer did not approve the PayPal billing agreement.",
            "payment_method": state.render(pm) if pm else None,
        },
    )
    state.dirty = True
    emit(state, "setup_intent.setup_failed", seti, previous=diff(before, state.render(seti)))


# ---- delayed settlement ----------------------------------------------------------------------


def submit(state, pi, pm):
    """Confirm a PaymentIntent with a delayed method: the debit is submitted and the intent is
    ``processing`` (charge ``pending``) until it settles. A processing intent cannot be confirmed
    again (Stripe's payment_intent_unexpected_state), so a retry never debits twice."""
    from .charges import create_charge

    if pi["status"] == "processing":
        raise invalid(
            "This PaymentIntent's payment is processing, so it cannot be confirmed again.",
            code="payment_intent_unexpected_state",
        )
    before = state.render(pi)
    pi["payment_method"] = pm["id"]
    if pm["type"] not in pi["payment_method_types"]:
        pi["payment_method_types"] = [*pi["payment_method_types"], pm["type"]]
    charge = create_charge(state, pi, pm, False, pending=True)
    start_processing(state, pi, pm, charge)
    state.dirty = True
    emit(state, "payment_intent.processing", pi, previous=diff(before, state.render(pi)))
    if pi.get("_invoice"):
        from ..billing import after_invoice_payment

        after_invoice_payment(state, pi, "processing")
    return "processing"


def start_processing(state, pi, pm, charge):
    """A SEPA debit was submitted: the PaymentIntent is ``processing`` until it settles."""
    settle_after = int(state.settings.get("settlement_seconds", DEFAULT_SETTLEMENT_SECONDS))
    pi.update(
        status="processing",
        latest_charge=charge["id"],
        next_action=None,
        last_payment_error=None,
        processing=None,
    )
    pi["_settle_at"] = state.now(pi["customer"]) + settle_after
    pi["_settles"] = pm.get("_settles", "succeeded")


def settle(state, pi):
    """Settle one processing payment as its IBAN says; the invoice follows (paid or failed)."""
    from .charges import settle_charge

    if pi["status"] != "processing":
        return None
    succeeded = pi.get("_settles", "succeeded") == "succeeded"
    before = state.render(pi)
    charge = state.find(pi["latest_charge"], "charge")
    if charge is not None:
        settle_charge(state, charge, succeeded, SEPA_FAILURE)
    if succeeded:
        pi.update(status="succeeded", amount_received=pi["amount"], last_payment_error=None)
        event, outcome = "payment_intent.succeeded", "succeeded"
    else:
        pm = state.find(pi["payment_method"], "payment_method")
        pi.update(
            status="requires_payment_method",
            last_payment_error={
                "type": "invalid_request_error",
                "code": SEPA_FAILURE["code"],
                "message": SEPA_FAILURE["message"],
                "charge": pi["latest_charge"],
                "payment_method": state.render(pm) if pm else None,
                "doc_url": "https://stripe.com/docs/error-codes/insufficient-funds",
            },
        )
        event, outcome = "payment_intent.payment_failed", "failed"
    pi.pop("_settle_at", None)
    state.dirty = True
    emit(state, event, pi, previous=diff(before, state.render(pi)))
    if pi.get("_invoice"):
        from ..billing import after_invoice_payment

        after_invoice_payment(state, pi, outcome)
    return outcome


def processing_intents(state, customers=None):
    """Processing PaymentIntents, oldest first (of these customers, when given)."""
    return [
        pi
        for pi in state.all("payment_intent", newest_first=False)
        if pi["status"] == "processing" and (customers is None or pi["customer"] in customers)
    ]


def pending_settlements(state, customers):
    """Test clock actions: each processing payment of the clock's customers settles at its time."""
    return [
        (pi["_settle_at"], 1, lambda p=pi: settle(state, p))
        for pi in processing_intents(state, customers)
        if "_settle_at" in pi
    ]


def settle_all(state, payment_intent=None):
    """Control call: settle every processing payment now (or one PaymentIntent)."""
    settled = []
    for pi in processing_intents(state):
        if payment_intent and pi["id"] != payment_intent:
            continue
        settled.append({"payment_intent": pi["id"], "outcome": settle(state, pi)})
    return settled
