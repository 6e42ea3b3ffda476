"""Control API under ``/_emulator/`` for tests and demos; never needed by product code."""
from __future__ import annotations

import json

from .state import DEFAULT_SETTINGS


def handle_control(emulator, method, path, body):
    """Serve one control request; returns ``(status, json_body)``."""
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
    if path == "/_emulator/settings":
        if method == "POST":
            unknown = set(payload) - set(DEFAULT_SETTINGS)
            if unknown:
                return 400, {"error": {"type": "invalid_request_error",
                                       "message": f"Unknown settings: {sorted(unknown)}"}}
            with state.lock:
                state.settings.update(payload)
                state.dirty = True
        return 200, dict(state.settings)
    if path == "/_emulator/faults":
        with state.lock:
            if method == "POST":
                if "path" not in payload or not (payload.get("status") or payload.get("delay")):
                    return 400, {"error": {"type": "invalid_request_error",
                                           "message": "A fault needs 'path' and 'status' or 'delay'"}}
                state.faults.append({"path": payload["path"], "method": payload.get("method"),
                                     "status": payload.get("status"), "delay": payload.get("delay"),
                                     "count": int(payload.get("count", 1))})
            elif method == "DELETE":
                state.faults.clear()
            return 200, {"object": "list", "data": [f for f in state.faults if f["count"] > 0]}
    return 404, {"error": {"type": "invalid_request_error", "message": f"Unknown control path {method} {path}"}}
