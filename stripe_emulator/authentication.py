"""The 3-D Secure page: what Stripe's test-mode challenge page is to a real PaymentIntent.

A PaymentIntent in `requires_action` points at ``/_emulator/3ds/<pi id>`` (its next_action's
`use_stripe_sdk.stripe_js`, or `redirect_to_url.url` when confirmed with a return_url). A person
(or a browser test) opens it and presses "Complete authentication" or "Fail authentication", as on
Stripe's own test page; the browser then goes back to ``return_url`` (the query parameter, or the
one the confirmation gave) with ``payment_intent`` and ``payment_intent_client_secret`` appended,
as Stripe's redirect does.

Completing it confirms the payment (an invoice's PaymentIntent pays the invoice); failing it leaves
the PaymentIntent `requires_payment_method` with `payment_intent_authentication_failure` (an
invoice's stays open, `invoice.payment_failed` is sent), again as Stripe does.
"""

from __future__ import annotations

import html
from urllib.parse import urlencode, urlsplit

from .encoding import diff
from .events import emit

AUTHENTICATION_PAGE = "/_emulator/3ds/"

FAILURE_MESSAGE = (
    "We are unable to authenticate your payment method. Please choose a different payment method "
    "and try again."
)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}"
        "button{font-size:1rem;padding:.5rem 1rem;margin-right:.5rem}</style></head>"
        f"<body>{body}</body></html>"
    )


def _return_to(url: str, pi: dict) -> str:
    query = urlencode(
        {"payment_intent": pi["id"], "payment_intent_client_secret": pi["client_secret"]}
    )
    return f"{url}{'&' if urlsplit(url).query else '?'}{query}"


def _safe_return_url(url: str) -> str:
    parts = urlsplit(url or "")
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


def complete(state, pi) -> str:
    """The customer passed the challenge: the payment is made. Returns the confirm outcome."""
    from .resources.payment_intents import confirm

    return confirm(state, pi, off_session=False, authenticated=True)


def fail(state, pi) -> None:
    """The customer failed (or refused) the challenge."""
    from .billing import after_invoice_payment

    before = state.render(pi)
    pm = state.find(pi["payment_method"], "payment_method")
    pi.update(
        status="requires_payment_method",
        next_action=None,
        last_payment_error={
            "type": "invalid_request_error",
            "code": "payment_intent_authentication_failure",
            "decline_code": None,
            "message": FAILURE_MESSAGE,
            "payment_method": state.render(pm) if pm else None,
            "doc_url": "https://stripe.com/docs/error-codes/payment-intent-authentication-failure",
        },
    )
    state.dirty = True
    emit(state, "payment_intent.payment_failed", pi, previous=diff(before, state.render(pi)))
    if pi.get("_invoice"):
        after_invoice_payment(state, pi, "failed")


def handle_authentication_page(state, method, path, query, form):
    """Serve ``GET``/``POST /_emulator/3ds/<pi>``; returns ``(status, html, headers)``."""
    pi_id = path[len(AUTHENTICATION_PAGE) :].strip("/")
    return_url = _safe_return_url(form.get("return_url") or query.get("return_url") or "")
    with state.lock:
        pi = state.find(pi_id, "payment_intent")
        if pi is None:
            return 404, _page("Not found", "<h1>No such payment</h1>"), {}
        return_url = return_url or _safe_return_url(pi.get("_return_url") or "")
        if method == "POST":
            if pi["status"] == "requires_action":
                if form.get("action") == "complete":
                    complete(state, pi)
                else:
                    fail(state, pi)
            if return_url:
                return 303, "", {"Location": _return_to(return_url, pi)}
            return 200, _page("Done", f"<h1>Payment {html.escape(pi['status'])}</h1>"), {}
        amount = f"{pi['amount']} {pi['currency'].upper()} (minor units)"
        if pi["status"] != "requires_action":
            body = f"<h1>Nothing to authenticate</h1><p>This payment is {html.escape(pi['status'])}.</p>"
            return 200, _page("3D Secure", body), {}
    hidden = (
        f"<input type='hidden' name='return_url' value='{html.escape(return_url, quote=True)}'>"
    )
    body = (
        "<h1>3D Secure test payment</h1>"
        f"<p>Stripe emulator: authenticate the payment of {html.escape(amount)}.</p>"
        f"<form method='post'>{hidden}"
        "<button type='submit' name='action' value='complete'>Complete authentication</button>"
        "<button type='submit' name='action' value='fail'>Fail authentication</button></form>"
    )
    return 200, _page("3D Secure", body), {}
