"""Control API under ``/_emulator/`` for tests and demos; never needed by product code."""

from __future__ import annotations

import json

from .faults import fault_from_json
from .state import DEFAULT_SETTINGS


def handle_control(emulator, method, path, body, query=None):
    """Serve one control request; returns ``(status, json_body)``."""
    query = query or {}
    try:
        payload = json.loads(body) if body.strip() else {}
    except ValueError:
        return 400, {"error": {"type": "invalid_request_error", "message": "Body must be JSON"}}
    state = emulator.state
    if path == "/_emulator/health" and method == "GET":
        return 200, {"status": "ok", "url": emulator.url}
    if path == "/_emulator/reset" and method == "POST":
        emulator.reset()
        return 200, {"reset": True}
    if path == "/_emulator/deliveries" and method == "GET":
        return 200, {"object": "list", "data": emulator.dispatcher.records()}
    if path == "/_emulator/requests":
        # The API requests served so far (method and path); DELETE starts counting afresh.
        if method == "DELETE":
            emulator.clear_requests()
        return 200, {"object": "list", "data": emulator.requests()}
    if path == "/_emulator/settle" and method == "POST":
        # Settle processing debits (SEPA) now, instead of waiting for their time or a test clock.
        from .resources.debits import settle_all

        with state.lock:
            settled = settle_all(state, payment_intent=payload.get("payment_intent"))
        return 200, {"object": "list", "data": settled}
    if path == "/_emulator/settings":
        if method == "POST":
            unknown = set(payload) - set(DEFAULT_SETTINGS)
            if unknown:
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "message": f"Unknown settings: {sorted(unknown)}",
                    }
                }
            with state.lock:
                state.settings.update(payload)
                state.dirty = True
        return 200, dict(state.settings)
    if path == "/_emulator/faults":
        with state.lock:
            if method == "POST":
                try:
                    state.faults.append(fault_from_json(payload))
                except ValueError as exc:
                    return 400, {"error": {"type": "invalid_request_error", "message": str(exc)}}
            elif method == "DELETE":
                state.faults.clear()
            # Armed faults only; ?all lists spent ones too (with how often each fired).
            shown = (
                state.faults if query.get("all") else [f for f in state.faults if f["count"] > 0]
            )
            return 200, {"object": "list", "data": [dict(f) for f in shown]}
    return 404, {
        "error": {
            "type": "invalid_request_error",
            "message": f"Unknown control path {method} {path}",
        }
    }
