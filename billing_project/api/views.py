"""Base classes of every API view: Idempotency-Key handling for mutating requests.

A repeat with the same key and body returns the first response with `Idempotent-Replayed: true`
(status `idempotency_replay_status` when a view sets it, e.g. usage answers 200 instead of 201); the
same key with another body is a 409 `idempotency_conflict`; a repeat while the first is still being
answered is a 409 `idempotency_in_progress` with Retry-After. Only successful responses are stored,
so a failed attempt can be retried.
"""

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone
from rest_framework import generics
from rest_framework.metadata import BaseMetadata
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_project.api.exceptions import Conflict, InvalidRequest, LengthRequired
from billing_project.api.fields import text_problem
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


IDEMPOTENCY_IN_PROGRESS_RETRY_AFTER = 1  # seconds


def idempotency_key_get(request) -> str | None:
    """The request's Idempotency-Key header, checked (400 when it cannot be one), or None."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        return None
    if len(key) > 255:
        raise InvalidRequest(
            "Idempotency-Key is longer than 255 characters.",
            detail={"Idempotency-Key": ["At most 255 characters."]},
        )
    problem = text_problem(key)
    if problem:
        raise InvalidRequest(f"Idempotency-Key: {problem}", detail={"Idempotency-Key": [problem]})
    return key


def _check_body_framing(request) -> None:
    """Django reads a body only up to Content-Length: a chunked body (no length) would be read as
    empty and answered with misleading "field required" errors. Say what is wrong instead."""
    meta = request.META
    if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower() and not meta.get(
        "CONTENT_LENGTH"
    ):
        raise LengthRequired()


def _check_url_text(request, kwargs) -> None:
    """Query parameters and path ids go into queries too: NUL there is a 400, not a database error."""
    if not kwargs and not request.META.get("QUERY_STRING"):
        return  # most requests: nothing to check, and no query dictionary to build for it
    for name, values in request.query_params.lists():
        for value in (name, *values):
            problem = text_problem(value)
            if problem:
                raise InvalidRequest(f"{name}: {problem}", detail={name: [problem]})
    for name, value in kwargs.items():
        problem = text_problem(value) if isinstance(value, str) else None
        if problem:
            raise InvalidRequest(f"{name}: {problem}", detail={name: [problem]})


class ApiMetadata(BaseMetadata):
    """OPTIONS: what the endpoint renders and parses. DRF's SimpleMetadata also describes the POST
    body by calling get_serializer(), which views that pick their serializer per method do not have
    (a 500); the OpenAPI document (/api/schema/) describes bodies instead."""

    def determine_metadata(self, request, view):
        return {
            "name": view.get_view_name(),
            "description": view.get_view_description(),
            "renders": [renderer.media_type for renderer in view.renderer_classes],
            "parses": [parser.media_type for parser in view.parser_classes],
        }


class IdempotentMixin:
    idempotency_replay_status: int | None = None
    # Off for endpoints whose repeat must run again (login: a replayed token pair would hand one
    # caller's tokens to whoever sends the same key and body).
    idempotency_enabled = True
    metadata_class: str | type[BaseMetadata] | None = ApiMetadata

    def idempotency_stored_body(self, data):
        """What a replay of this response may show (views drop secrets shown only once)."""
        return data

    def initial(self, request, *args, **kwargs):
        _check_url_text(request, kwargs)
        if request.method in UNSAFE_METHODS:
            _check_body_framing(request)
        super().initial(request, *args, **kwargs)
        if request.method not in UNSAFE_METHODS or not self.idempotency_enabled:
            return
        if not hasattr(self, request.method.lower()):
            return  # no such operation: dispatch answers 405, whatever key the client sent
        key = idempotency_key_get(request)
        if key is None:
            return
        body = json.dumps(request.data, sort_keys=True, default=str)
        fingerprint = hashlib.sha256(
            f"{request.method} {request.path}\n{body}".encode()
        ).hexdigest()
        scope = _scope(request.auth)
        expiry = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
        IdempotencyRecord.objects.filter(scope=scope, key=key, created__lt=expiry).delete()
        record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if record is None:
            try:
                # Inserted (and committed) before the work starts, so that a concurrent retry
                # with the same key sees it and waits instead of doing the work twice.
                request._idempotency_record = IdempotencyRecord.objects.create(
                    scope=scope, key=key, fingerprint=fingerprint
                )
                return
            except IntegrityError:
                record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if record is None or record.fingerprint != fingerprint:
            raise Conflict(
                "This Idempotency-Key was used with another request.", code="idempotency_conflict"
            )
        if record.status_code is None and record.created < timezone.now() - timedelta(
            seconds=settings.IDEMPOTENCY_IN_PROGRESS_SECONDS
        ):
            # Still "in progress" long after any request could have been answered (gunicorn kills a
            # worker after 30 s): the process that held it died. One retry takes it over and does the
            # work (Stripe calls carry keys derived from this one, so nothing is done twice there).
            taken = IdempotencyRecord.objects.filter(
                pk=record.pk, status_code__isnull=True, created=record.created
            ).update(created=timezone.now())
            if taken:
                request._idempotency_record = IdempotencyRecord.objects.get(pk=record.pk)
                return
            record = IdempotencyRecord.objects.filter(pk=record.pk).first() or record
        if record.status_code is None:
            # Same key, same body, first request not answered yet: not a conflict of bodies; the
            # client retries shortly and gets the first response (or does the work, if it failed).
            raise Conflict(
                "A request with this Idempotency-Key is still in progress; retry shortly.",
                code="idempotency_in_progress",
                headers={"Retry-After": str(IDEMPOTENCY_IN_PROGRESS_RETRY_AFTER)},
            )
        raise _Replay(record)

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            status = exc.record.status_code
            if self.idempotency_replay_status and status == 201:
                status = self.idempotency_replay_status
            return Response(
                exc.record.response_body, status=status, headers={"Idempotent-Replayed": "true"}
            )
        return super().handle_exception(exc)

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            # An exception no handler answered (a 500) skips finalize_response: without this its
            # record would stay "in progress" and refuse every retry of the key for its whole TTL.
            record = getattr(getattr(self, "request", None), "_idempotency_record", None)
            if record is not None:
                self.request._idempotency_record = None
                try:
                    record.delete()
                except Exception:  # the database that failed the request may still be down
                    pass

    def finalize_response(self, request, response, *args, **kwargs):
        record = getattr(request, "_idempotency_record", None)
        if record is not None:
            request._idempotency_record = None
            if 200 <= response.status_code < 300:
                record.status_code = response.status_code
                record.response_body = self.idempotency_stored_body(getattr(response, "data", None))
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
