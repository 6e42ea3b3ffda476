"""HTTP of the usage collectors: NetBox's REST API and Odoo's JSON-RPC API. Nothing else here."""

from __future__ import annotations

from decimal import Decimal

import requests

TIMEOUT = (3.05, 15)


class CollectorError(Exception):
    """The source did not answer with a count (network, auth, or an unexpected body)."""


def _json(response: requests.Response, what: str):
    if response.status_code in (401, 403):
        raise CollectorError(f"{what}: authentication refused ({response.status_code})")
    if response.status_code >= 400:
        raise CollectorError(f"{what}: HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise CollectorError(f"{what}: the answer is not JSON")


def netbox_count(*, base_url: str, token: str, endpoint: str, filters: dict | None = None) -> Decimal:
    """Objects at a NetBox list endpoint (e.g. dcim/devices): `?limit=1` and the `count` field."""
    url = f"{base_url.rstrip('/')}/api/{endpoint.strip('/')}/"
    try:
        response = requests.get(url, params={**(filters or {}), "limit": 1}, timeout=TIMEOUT,
                                headers={"Authorization": f"Token {token}", "Accept": "application/json"})
    except requests.RequestException as exc:
        raise CollectorError(f"NetBox {endpoint}: {exc.__class__.__name__}") from exc
    body = _json(response, f"NetBox {endpoint}")
    if not isinstance(body, dict) or isinstance(body.get("count"), bool) or not isinstance(body.get("count"), int):
        raise CollectorError(f"NetBox {endpoint}: no integer count in the answer")
    return Decimal(body["count"])


def _odoo_call(url: str, service: str, method: str, args: list, call_id: int):
    payload = {"jsonrpc": "2.0", "method": "call", "id": call_id,
               "params": {"service": service, "method": method, "args": args}}
    try:
        response = requests.post(url, json=payload, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise CollectorError(f"Odoo {service}.{method}: {exc.__class__.__name__}") from exc
    body = _json(response, f"Odoo {service}.{method}")
    if not isinstance(body, dict):
        raise CollectorError(f"Odoo {service}.{method}: unexpected answer")
    if body.get("error"):
        error = body["error"]
        message = (error.get("data") or {}).get("message") or error.get("message") or "error"
        raise CollectorError(f"Odoo {service}.{method}: {message}")
    return body.get("result")


def odoo_count(*, base_url: str, database: str, login: str, api_key: str, model: str,
               domain: list | None = None) -> Decimal:
    """`search_count` of an Odoo model over JSON-RPC (`/jsonrpc`), after `common.login` with the key."""
    url = f"{base_url.rstrip('/')}/jsonrpc"
    uid = _odoo_call(url, "common", "login", [database, login, api_key], 1)
    if not uid:
        raise CollectorError("Odoo common.login: authentication refused")
    count = _odoo_call(url, "object", "execute_kw",
                       [database, uid, api_key, model, "search_count", [domain or []]], 2)
    if isinstance(count, bool) or not isinstance(count, int):
        raise CollectorError(f"Odoo {model}.search_count: no integer in the answer")
    return Decimal(count)
