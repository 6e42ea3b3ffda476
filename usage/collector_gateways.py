"""HTTP of the usage collectors: NetBox's REST API and Odoo's JSON-RPC API. Nothing else here.

Every call goes through the outbound URL policy (billing_project.outbound): a tenant's collector URL
reaches public addresses only, checked when connecting, and redirects are not followed. Only the
platform's own collectors, whose URLs are operator configuration, pass `enforce_policy=False`.
"""

from __future__ import annotations

from decimal import Decimal

from billing_project import outbound

TIMEOUT = (3.05, 15)  # connect, read
# A NetBox list answer with `limit=1` carries one full object (custom fields, config context): room for it.
MAX_ANSWER_BYTES = 1024 * 1024


class CollectorError(Exception):
    """The source did not answer with a count (network, auth, policy, or an unexpected body)."""


def _call(
    what: str, method, url: str, *, enforce_policy: bool, **kwargs
) -> outbound.OutboundResponse:
    try:
        return method(
            url,
            timeout=TIMEOUT,
            max_bytes=MAX_ANSWER_BYTES,
            enforce_policy=enforce_policy,
            **kwargs,
        )
    except outbound.OutboundRefused as exc:
        raise CollectorError(
            f"{what}: refused by the outbound URL policy: the collector URL {exc}"
        ) from exc
    except outbound.OutboundError as exc:
        raise CollectorError(f"{what}: {exc}") from exc


def _json(response: outbound.OutboundResponse, what: str):
    if response.status in (401, 403):
        raise CollectorError(f"{what}: authentication refused ({response.status})")
    if 300 <= response.status < 400:
        # Not followed (the policy): a redirect could lead anywhere, inside the network included.
        raise CollectorError(
            f"{what}: answered with a redirect (HTTP {response.status}), not followed; set the "
            f"collector URL to where it leads"
        )
    if response.status >= 400:
        raise CollectorError(f"{what}: HTTP {response.status}")
    try:
        return response.json()
    except ValueError:
        raise CollectorError(f"{what}: the answer is not JSON") from None


def netbox_count(
    *,
    base_url: str,
    token: str,
    endpoint: str,
    filters: dict | None = None,
    enforce_policy: bool = True,
) -> Decimal:
    """Objects at a NetBox list endpoint (e.g. dcim/devices): `?limit=1` and the `count` field."""
    url = f"{base_url.rstrip('/')}/api/{endpoint.strip('/')}/"
    what = f"NetBox {endpoint}"
    response = _call(
        what,
        outbound.get,
        url,
        enforce_policy=enforce_policy,
        params={**(filters or {}), "limit": 1},
        headers={"Authorization": f"Token {token}", "Accept": "application/json"},
    )
    body = _json(response, what)
    if (
        not isinstance(body, dict)
        or isinstance(body.get("count"), bool)
        or not isinstance(body.get("count"), int)
    ):
        raise CollectorError(f"{what}: no integer count in the answer")
    return Decimal(body["count"])


def _odoo_call(
    url: str, service: str, method: str, args: list, call_id: int, *, enforce_policy: bool
):
    payload = {
        "jsonrpc": "2.0",
        "method": "call",
        "id": call_id,
        "params": {"service": service, "method": method, "args": args},
    }
    what = f"Odoo {service}.{method}"
    body = _json(
        _call(what, outbound.post_json, url, payload=payload, enforce_policy=enforce_policy), what
    )
    if not isinstance(body, dict):
        raise CollectorError(f"{what}: unexpected answer")
    if body.get("error"):
        error = body["error"]
        message = (error.get("data") or {}).get("message") or error.get("message") or "error"
        raise CollectorError(f"{what}: {message}")
    return body.get("result")


def odoo_count(
    *,
    base_url: str,
    database: str,
    login: str,
    api_key: str,
    model: str,
    domain: list | None = None,
    enforce_policy: bool = True,
) -> Decimal:
    """`search_count` of an Odoo model over JSON-RPC (`/jsonrpc`), after `common.login` with the key."""
    url = f"{base_url.rstrip('/')}/jsonrpc"
    uid = _odoo_call(
        url, "common", "login", [database, login, api_key], 1, enforce_policy=enforce_policy
    )
    if not uid:
        raise CollectorError("Odoo common.login: authentication refused")
    count = _odoo_call(
        url,
        "object",
        "execute_kw",
        [database, uid, api_key, model, "search_count", [domain or []]],
        2,
        enforce_policy=enforce_policy,
    )
    if isinstance(count, bool) or not isinstance(count, int):
        raise CollectorError(f"Odoo {model}.search_count: no integer in the answer")
    return Decimal(count)
