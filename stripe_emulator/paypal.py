"""PayPal's approval page, as the emulator's stand-in for PayPal's sandbox checkout.

A SetupIntent for a ``paypal`` payment method, confirmed with a ``return_url``, points its
``next_action.redirect_to_url.url`` at ``/_emulator/paypal/<seti id>``. The payer (or a browser test)
signs in with an email and presses "Agree and continue" or "Cancel and return"; the browser then
goes back to the return_url with ``setup_intent``, ``setup_intent_client_secret`` and
``redirect_status`` (``succeeded`` / ``failed``) appended, as Stripe's redirect does.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode, urlsplit

from .resources.debits import PAYPAL_PAGE, paypal_approve, paypal_decline

DEFAULT_PAYER = "jenny.rosen@example.com"
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}"
        "label,input{display:block;margin:.25rem 0}input{font-size:1rem;padding:.3rem;width:100%}"
        "button{font-size:1rem;padding:.5rem 1rem;margin:.75rem .5rem 0 0}</style></head>"
        f"<body>{body}</body></html>"
    )


def _safe_return_url(url: str) -> str:
    parts = urlsplit(url or "")
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


def _return_to(url: str, seti: dict, status: str) -> str:
    query = urlencode(
        {
            "setup_intent": seti["id"],
            "setup_intent_client_secret": seti["client_secret"],
            "redirect_status": status,
        }
    )
    return f"{url}{'&' if urlsplit(url).query else '?'}{query}"


def handle_paypal_page(state, method, path, query, form):
    """Serve ``GET``/``POST /_emulator/paypal/<seti>``; returns ``(status, html, headers)``."""
    seti_id = path[len(PAYPAL_PAGE) :].strip("/")
    with state.lock:
        seti = state.find(seti_id, "setup_intent")
        if seti is None:
            return 404, _page("Not found", "<h1>No such PayPal approval</h1>"), {}
        return_url = _safe_return_url(seti.get("_return_url") or "")
        if method == "POST":
            email = (form.get("email") or "").strip()
            if seti["status"] == "requires_action":
                if form.get("action") == "approve":
                    if not EMAIL.match(email):
                        body = "<h1>PayPal</h1><p role='alert'>Enter the payer's email.</p>"
                        return 400, _page("PayPal", body), {}
                    paypal_approve(state, seti, email)
                else:
                    paypal_decline(state, seti)
            outcome = "succeeded" if seti["status"] == "succeeded" else "failed"
            if return_url:
                return 303, "", {"Location": _return_to(return_url, seti, outcome)}
            return 200, _page("Done", f"<h1>PayPal: {html.escape(outcome)}</h1>"), {}
        if seti["status"] != "requires_action":
            body = f"<h1>Nothing to approve</h1><p>This setup is {html.escape(seti['status'])}.</p>"
            return 200, _page("PayPal", body), {}
    body = (
        "<h1>PayPal (test mode)</h1>"
        "<p>Stripe emulator: approve a PayPal billing agreement, so the merchant can charge this "
        "PayPal account for future payments.</p>"
        "<form method='post'>"
        "<label for='email'>PayPal email</label>"
        f"<input id='email' name='email' type='email' value='{DEFAULT_PAYER}'>"
        "<button type='submit' name='action' value='approve'>Agree and continue</button>"
        "<button type='submit' name='action' value='decline'>Cancel and return</button></form>"
    )
    return 200, _page("PayPal", body), {}
