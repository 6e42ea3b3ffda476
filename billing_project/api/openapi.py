"""OpenAPI: the error shape as a component, and the standard error responses on every operation."""

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "detail"],
            "properties": {
                "code": {"type": "string", "example": "invalid_request"},
                "message": {"type": "string"},
                "detail": {"type": "object", "nullable": True, "additionalProperties": True},
            },
        }
    },
}

STANDARD_ERRORS = {
    "400": "invalid_request: validation failed (per-field messages in detail).",
    "401": "authentication_failed: missing, invalid or expired credential.",
    "403": "permission_denied: the credential's role may not do this.",
    "429": "rate_limited: too many requests; see Retry-After.",
}
PUBLIC_OPERATIONS = {"/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/plans"}


def error_response(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def add_standard_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation documents the error shape and codes."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, text in STANDARD_ERRORS.items():
                if path in PUBLIC_OPERATIONS and status in ("401", "403") and method == "get":
                    continue
                responses.setdefault(status, error_response(text))
            if "{" in path:
                responses.setdefault("404", error_response("not_found: no such object for this tenant."))
            if method in ("post", "put", "patch", "delete") and not path.startswith("/api/v1/auth/"):
                responses.setdefault("409", error_response(
                    "idempotency_conflict / conflict: the Idempotency-Key was used with another body, "
                    "or the state forbids the change."))
                params = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in params):
                    params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                                   "description": "Repeat-safe retries: same key + same body -> the first response.",
                                   "schema": {"type": "string", "maxLength": 255}})
    return result
