"""Base classes of every API view: Idempotency-Key handling for mutating requests.

A repeat with the same key and body returns the first response (status `idempotency_replay_status`
when a view sets it, e.g. usage answers 200 instead of 201); the same key with another body is a 409
`idempotency_conflict`. Only successful responses are stored, so a failed attempt can be retried.
"""

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_project.api.exceptions import Conflict, InvalidRequest
from tenants.models import IdempotencyRecord

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _Replay(Exception):
    def __init__(self, record: IdempotencyRecord):
        self.record = record


def _scope(credential) -> str:
    if credential is not None and credential.tenant is not None:
        return f"tenant:{credential.tenant.tenant_id}"
    if credential is not None and credential.user is not None:
        return f"user:{credential.user.pk}"
    if credential is not None and credential.api_key is not None:
        return f"key:{credential.api_key.pk}"
    return "anonymous"


class IdempotentMixin:
    idempotency_replay_status: int | None = None
    # Off for endpoints whose repeat must run again (login: a replayed token pair would hand one
    # caller's tokens to whoever sends the same key and body).
    idempotency_enabled = True

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        key = request.headers.get("Idempotency-Key")
        if request.method not in UNSAFE_METHODS or not key or not self.idempotency_enabled:
            return
        if not hasattr(self, request.method.lower()):
            return  # no such operation: dispatch answers 405, whatever key the client sent
        if len(key) > 255:
            raise InvalidRequest("Idempotency-Key is longer than 255 characters.")
        body = json.dumps(request.data, sort_keys=True, default=str)
        fingerprint = hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()
        scope = _scope(request.auth)
        expiry = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
        IdempotencyRecord.objects.filter(scope=scope, key=key, created__lt=expiry).delete()
        record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if record is None:
            try:
                # Inserted (and committed) before the work starts, so that a concurrent retry
                # with the same key sees it and waits instead of doing the work twice.
                request._idempotency_record = IdempotencyRecord.objects.create(
                    scope=scope, key=key, fingerprint=fingerprint)
                return
            except IntegrityError:
                record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if record is None or record.fingerprint != fingerprint:
            raise Conflict("This Idempotency-Key was used with another request.", code="idempotency_conflict")
        if record.status_code is None:
            raise Conflict("A request with this Idempotency-Key is still in progress.", code="idempotency_conflict")
        raise _Replay(record)

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            status = exc.record.status_code
            if self.idempotency_replay_status and status == 201:
                status = self.idempotency_replay_status
            return Response(exc.record.response_body, status=status, headers={"Idempotent-Replayed": "true"})
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        record = getattr(request, "_idempotency_record", None)
        if record is not None:
            request._idempotency_record = None
            if 200 <= response.status_code < 300:
                record.status_code = response.status_code
                record.response_body = getattr(response, "data", None)
                record.save(update_fields=["status_code", "response_body"])
            else:
                record.delete()
        return super().finalize_response(request, response, *args, **kwargs)


class BaseApiView(IdempotentMixin, APIView):
    """Every single-object or action endpoint."""


class BaseListApiView(IdempotentMixin, generics.GenericAPIView):
    """Endpoints that return a paged list (and may create on POST)."""

    def paged_response(self, queryset, serializer_class, **context):
        page = self.paginate_queryset(queryset)
        data = serializer_class(page, many=True, context={"request": self.request, **context}).data
        return self.get_paginated_response(data)
