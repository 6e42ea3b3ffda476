"""Idempotency keys: one helper derives every Stripe Idempotency-Key from the operation.

A retried request (network error, worker restart, an API client's retry with the same
Idempotency-Key) must reach Stripe under the same key, so that Stripe replays the first answer
instead of creating, paying or refunding twice.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stripe import RequestOptions


def op_key(operation: str, scope: object, request_key: str | None = None) -> str:
    """The Stripe Idempotency-Key of one operation on `scope` (a tenant, or the id of the object the
    operation acts on, e.g. an invoice): the API client's key when it sent one (its retry must reach
    Stripe with the same key), a fresh one otherwise."""
    return f"{operation}:{getattr(scope, 'id', scope)}:{request_key or uuid.uuid4().hex}"


def request_options(key: str | None) -> RequestOptions:
    """stripe-python's per-request options carrying the key (none: stripe-python picks one per POST,
    which still covers its own network retries)."""
    return {"idempotency_key": key} if key else {}
