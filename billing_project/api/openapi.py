"""OpenAPI: the error shape as a component, and every error each operation can answer.

The schema is a contract clients and schemathesis (tests/reliability/test_schemathesis.py) hold the
API to, so each operation lists the statuses and codes it really returns, no more: the codes every
operation shares come from COMMON_ERRORS, the ones of a domain rule from OPERATION_ERRORS.
"""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "detail"],
            "additionalProperties": False,
            "properties": {
                "code": {
                    "type": "string",
                    "pattern": "^[a-z][a-z0-9_]*$",
                    "example": "invalid_request",
                },
                "message": {"type": "string"},
                "detail": {"type": "object", "nullable": True, "additionalProperties": True},
            },
        }
    },
}

# What each code means, in the words the descriptions show.
CODES = {
    "invalid_request": "validation failed (per-field messages in `detail`)",
    "authentication_failed": "missing, invalid or expired credential",
    "permission_denied": "the credential's role may not do this, or it names another tenant in X-Tenant-ID",
    "not_found": "no such object for this tenant (another tenant's objects are not found either)",
    "rate_limited": "too many requests; retry after `Retry-After` seconds",
    "payload_too_large": "the body is larger than the server accepts",
    "length_required": "a chunked body without Content-Length",
    "unsupported_media_type": "the body is not `application/json`",
    "service_unavailable": "the database or Redis is unreachable; retry after `Retry-After` seconds",
    "payment_provider_unavailable": "Stripe is unreachable or rate-limits us; retry after `Retry-After` "
    "seconds with the same Idempotency-Key",
    "idempotency_conflict": "this Idempotency-Key was used with another body",
    "idempotency_in_progress": "the first request with this Idempotency-Key is still being answered; "
    "retry after `Retry-After` seconds",
    "conflict": "the current state forbids the change",
    "card_declined": "the bank refused the card (`detail.decline_code`)",
    "authentication_required": "the customer must confirm the payment (3-D Secure): `detail` has "
    "payment_intent_id, client_secret, invoice_id, hosted_invoice_url",
    "no_subscription": "the tenant has no live subscription",
    "subscription_exists": "the tenant already has a live subscription; change it instead",
    "plan_not_found": "no active plan with this plan_id",
    "plan_not_synced": "the plan has no Stripe price yet",
    "no_change": "the subscription is already on this plan and cycle",
    "payment_method_in_use": "the card pays the live subscription; make another card the default first",
    "coupon_not_found": "no coupon with this code",
    "coupon_expired": "the coupon is no longer (or not yet) valid",
    "coupon_not_applicable": "the coupon is for another plan, currency or a first subscription only",
    "coupon_exhausted": "the coupon has been redeemed the maximum number of times",
    "coupon_already_redeemed": "this tenant has already redeemed this coupon",
    "slug_taken": "a tenant with this slug exists",
    "pdf_not_ready": "the PDF is being rendered; retry after `Retry-After` seconds",
    "invoice_not_payable": "the invoice is paid, void or uncollectible",
    "payment_processing": "a bank debit (SEPA) of the invoice is processing; it settles in a few days",
    "invoice_not_refundable": "only a paid invoice can be refunded",
    "invoice_not_open": "only an open invoice can be credited, voided or marked uncollectible",
    "refund_not_pending": "the refund was already approved or rejected",
    "approval_requires_second_user": "a refund is approved by another finance user than its requester",
    "invalid_signature": "the Stripe-Signature header does not verify",
    "no_payment_method": "the tenant has no default payment method to pay with",
    "currency_mismatch": "credit is bought, and a budget set, in the currency the tenant is billed in",
    "unknown_feature": "no feature with this key in the catalog",
    "budget_exceeded": "the tenant's spend budget for this billing period is reached and its hard "
    "cap is on (raise the budget or remove the cap)",
    "budget_not_set": "the tenant has no spend budget",
}

PUBLIC_OPERATIONS = {
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    "/api/v1/plans",
    "/api/v1/plans/{plan_id}",
    "/api/v1/webhooks/stripe",
}
# Operations that call Stripe while answering: an outage or rate limit there is their 503.
STRIPE_OPERATIONS = {
    ("post", "/api/v1/subscriptions"),
    ("put", "/api/v1/subscriptions/current"),
    ("delete", "/api/v1/subscriptions/current"),
    ("post", "/api/v1/subscriptions/current/preview"),
    ("get", "/api/v1/payment-methods"),
    ("post", "/api/v1/payment-methods"),
    ("post", "/api/v1/payment-methods/setup-intent"),
    ("post", "/api/v1/payment-methods/{payment_method_id}/default"),
    ("delete", "/api/v1/payment-methods/{payment_method_id}"),
    ("post", "/api/v1/coupons/apply"),
    ("post", "/api/v1/credits/top-ups"),
    ("post", "/api/v1/invoices/{invoice_id}/pay"),
    ("patch", "/api/v1/tenants/current/billing-details"),
    ("put", "/api/v1/tenants/current/billing-details"),
    ("post", "/api/v1/invoices/{invoice_id}/refunds"),
    ("post", "/api/v1/invoices/{invoice_id}/credit-notes"),
    ("post", "/api/v1/invoices/{invoice_id}/void"),
    ("post", "/api/v1/invoices/{invoice_id}/mark-uncollectible"),
    ("post", "/api/v1/refunds/{refund_id}/approve"),
    ("post", "/api/v1/adjustments"),
}
# Operations behind a throttle (tenants.services.LoginThrottle); no other endpoint answers 429.
THROTTLED_OPERATIONS = {("post", "/api/v1/auth/login")}

# Domain codes per operation, on top of COMMON_ERRORS: {(method, path): {status: [codes]}}.
_SUBSCRIPTION_CHANGE = {
    "400": ["plan_not_found"],
    "402": ["card_declined"],
    "404": ["no_subscription"],
    "409": ["plan_not_synced", "no_change"],
}
OPERATION_ERRORS: dict[tuple[str, str], dict[str, list[str]]] = {
    ("post", "/api/v1/auth/login"): {"401": ["authentication_failed"]},
    ("post", "/api/v1/auth/refresh"): {"401": ["authentication_failed"]},
    ("post", "/api/v1/tenants"): {"409": ["slug_taken"]},
    ("get", "/api/v1/plans/{plan_id}"): {"404": ["not_found"]},
    ("post", "/api/v1/subscriptions"): {
        "400": ["plan_not_found", "coupon_expired", "coupon_not_applicable"],
        "402": ["card_declined", "authentication_required"],
        "404": ["coupon_not_found"],
        "409": [
            "subscription_exists",
            "plan_not_synced",
            "coupon_exhausted",
            "coupon_already_redeemed",
        ],
    },
    ("get", "/api/v1/subscriptions/current"): {"404": ["no_subscription"]},
    ("put", "/api/v1/subscriptions/current"): {
        **_SUBSCRIPTION_CHANGE,
        "402": ["card_declined", "authentication_required"],
    },
    ("post", "/api/v1/subscriptions/current/preview"): _SUBSCRIPTION_CHANGE,
    ("delete", "/api/v1/subscriptions/current"): {"404": ["no_subscription"]},
    ("post", "/api/v1/payment-methods"): {"402": ["card_declined"], "404": ["not_found"]},
    ("delete", "/api/v1/payment-methods/{payment_method_id}"): {"409": ["payment_method_in_use"]},
    ("post", "/api/v1/coupons/apply"): {
        "400": ["coupon_expired", "coupon_not_applicable"],
        "404": ["coupon_not_found"],
        "409": ["coupon_exhausted", "coupon_already_redeemed"],
    },
    ("get", "/api/v1/invoices/{invoice_id}/pdf"): {"404": ["pdf_not_ready"]},
    ("post", "/api/v1/invoices/{invoice_id}/pay"): {
        "402": ["card_declined", "authentication_required"],
        "409": ["invoice_not_payable", "payment_processing"],
    },
    ("post", "/api/v1/invoices/{invoice_id}/refunds"): {"409": ["invoice_not_refundable"]},
    ("post", "/api/v1/invoices/{invoice_id}/credit-notes"): {"409": ["invoice_not_open"]},
    ("post", "/api/v1/invoices/{invoice_id}/void"): {"409": ["invoice_not_open"]},
    ("post", "/api/v1/invoices/{invoice_id}/mark-uncollectible"): {"409": ["invoice_not_open"]},
    ("post", "/api/v1/refunds/{refund_id}/approve"): {
        "403": ["approval_requires_second_user"],
        "409": ["refund_not_pending"],
    },
    ("post", "/api/v1/refunds/{refund_id}/reject"): {
        "403": ["approval_requires_second_user"],
        "409": ["refund_not_pending"],
    },
    ("post", "/api/v1/usage"): {"402": ["budget_exceeded"], "409": ["conflict"]},
    ("post", "/api/v1/usage/batch"): {"402": ["budget_exceeded"]},
    ("post", "/api/v1/credits/top-ups"): {
        "400": ["no_payment_method", "currency_mismatch"],
        "402": ["card_declined", "authentication_required"],
    },
    ("get", "/api/v1/entitlements/check"): {
        "400": ["unknown_feature"],
        "402": ["budget_exceeded"],
    },
    ("get", "/api/v1/budget"): {"404": ["budget_not_set"]},
    ("put", "/api/v1/budget"): {"400": ["currency_mismatch"]},
    ("delete", "/api/v1/budget"): {"404": ["budget_not_set"]},
    ("post", "/api/v1/webhooks/stripe"): {"400": ["invalid_signature"]},
}

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
_LINK = {
    "Link": {
        "description": 'The next page: `<url>; rel="next"`; absent on the last page.',
        "schema": {"type": "string"},
    }
}
_BODY_METHODS = ("post", "put", "patch")


def error_response(codes: list[str], headers: dict | None = None) -> dict:
    """A response of the Error shape, its description and examples naming each code it can carry."""
    unique = list(dict.fromkeys(codes))
    response = {
        "description": "; ".join(f"`{code}`: {CODES[code]}" for code in unique) + ".",
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                "examples": {
                    code: {
                        "value": {"error": {"code": code, "message": CODES[code], "detail": None}}
                    }
                    for code in unique
                },
            }
        },
    }
    if headers:
        response["headers"] = headers
    return response


def operation_errors(method: str, path: str, operation: dict) -> dict[str, list[str]]:
    """{status: [codes]} of one operation: what every operation shares, then its own rules."""
    secured = path not in PUBLIC_OPERATIONS
    errors: dict[str, list[str]] = {"400": ["invalid_request"]}
    if secured:
        errors["401"] = ["authentication_failed"]
        errors["403"] = ["permission_denied"]
        # The path's object is not this tenant's, or a platform credential's X-Tenant-ID names none.
        errors["404"] = ["not_found"]
    if method in _BODY_METHODS and "requestBody" in operation:
        errors["411"] = ["length_required"]
        errors["413"] = ["payload_too_large"]
        errors["415"] = ["unsupported_media_type"]
    if method in ("post", "put", "patch", "delete") and secured:
        errors.setdefault("409", []).extend(["idempotency_conflict", "idempotency_in_progress"])
    if (method, path) in THROTTLED_OPERATIONS:
        errors["429"] = ["rate_limited"]
    errors["503"] = ["service_unavailable"]
    if (method, path) in STRIPE_OPERATIONS:
        errors["503"].append("payment_provider_unavailable")
    for status, codes in OPERATION_ERRORS.get((method, path), {}).items():
        errors.setdefault(status, []).extend(codes)
    return errors


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: the Error component, and on every operation each error
    status with the codes it can carry (Retry-After where the API sends it)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    _plan_id_enum(schemas)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            _require_closed_bodies(operation, schemas)
            for status, codes in operation_errors(method, path, operation).items():
                headers = _RETRY_AFTER if status in ("429", "503") else None
                if "idempotency_in_progress" in codes or "pdf_not_ready" in codes:
                    headers = {"Retry-After": {**_RETRY_AFTER["Retry-After"], "required": False}}
                responses[status] = error_response(codes, headers)
            if method == "get" and _is_list(operation):
                for status, response in responses.items():
                    if status.startswith("2"):
                        response.setdefault("headers", {}).update(_LINK)
            if method in ("post", "put", "patch", "delete") and path not in PUBLIC_OPERATIONS:
                params = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in params):
                    params.append(
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": "Repeat-safe retries: same key + same body -> the first response.",
                            "schema": {"type": "string", "maxLength": 255},
                        }
                    )
    return result


def _is_list(operation: dict) -> bool:
    return any(
        p.get("name") == "cursor" and p.get("in") == "query"
        for p in operation.get("parameters", [])
    )


def _plan_id_enum(schemas: dict) -> None:
    """`plan_id` in a request is one of the catalog's active plans (anything else is 400
    plan_not_found): the schema lists them, read from the catalog when the document is served."""
    from django.db import DatabaseError

    from subscriptions.models import Plan

    try:
        codes = sorted(Plan.objects.filter(is_active=True).values_list("code", flat=True))
    except (
        DatabaseError
    ):  # the document generated without a database (manage.py spectacular offline)
        return
    if not codes:
        return
    for name, schema in schemas.items():
        plan_id = schema.get("properties", {}).get("plan_id")
        if name.endswith("Request") and plan_id is not None and plan_id.get("type") == "string":
            plan_id["enum"] = codes


def _require_closed_bodies(operation: dict, schemas: dict) -> None:
    """A body with required fields (or one of several forms) cannot be left out: say so, as the
    API answers a missing body with 400."""
    body = operation.get("requestBody")
    if not body:
        return
    ref = body.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
    schema = schemas.get(ref.rsplit("/", 1)[-1], {})
    if schema.get("required") or schema.get("oneOf"):
        body["required"] = True
