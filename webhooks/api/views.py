"""Webhook endpoints, their deliveries, and the event log. Thin: parse, call one service or
selector, render. Owners manage endpoints; billing admins (and platform staff) read."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from billing_project.api.exceptions import NotFound
from billing_project.api.permissions import DEFAULT_READ, OWNER_ONLY, STAFF_READ
from billing_project.api.views import BaseApiView, BaseListApiView
from webhooks import catalogue, selectors, services
from webhooks.api import serializers as s

# Viewers do not see endpoints (URLs and delivery bodies are an integration's business).
READ = frozenset({"owner", "billing_admin"}) | STAFF_READ
TAG = ["webhooks"]


def _who(request) -> dict:
    return {"tenant": request.auth.tenant, "actor": request.auth.actor}


def _endpoint(request, endpoint_id: str):
    endpoint = selectors.endpoint_get(tenant=request.auth.tenant, endpoint_id=endpoint_id)
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    return endpoint


def _valid(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class EndpointListApi(BaseListApiView):
    read_grants = READ
    write_grants = OWNER_ONLY

    @extend_schema(
        responses={200: s.EndpointOutput(many=True)},
        tags=TAG,
        summary="The tenant's webhook endpoints",
    )
    def get(self, request):
        return self.paged_response(
            selectors.endpoint_queryset(tenant=request.auth.tenant), s.EndpointOutput
        )

    @extend_schema(
        request=s.EndpointCreateInput,
        responses={201: s.EndpointWithSecretOutput},
        tags=TAG,
        summary="Add a webhook endpoint (its signing secret is shown only in this answer)",
    )
    def post(self, request):
        values = _valid(s.EndpointCreateInput, request.data)
        endpoint, secret = services.endpoint_create(**values, **_who(request))
        data = s.EndpointOutput(endpoint).data | {"secret": secret}
        return Response(data, status=201)


class EndpointDetailApi(BaseApiView):
    read_grants = READ
    write_grants = OWNER_ONLY

    @extend_schema(responses={200: s.EndpointOutput}, tags=TAG, summary="One webhook endpoint")
    def get(self, request, endpoint_id):
        return Response(s.EndpointOutput(_endpoint(request, endpoint_id)).data)

    @extend_schema(
        request=s.EndpointUpdateInput,
        responses={200: s.EndpointOutput},
        tags=TAG,
        summary="Change a webhook endpoint (fields left out keep their value)",
    )
    def patch(self, request, endpoint_id):
        values = _valid(s.EndpointUpdateInput, request.data)
        if "enabled" not in request.data:
            values.pop("enabled", None)
        endpoint = services.endpoint_update(endpoint_id=endpoint_id, **values, **_who(request))
        return Response(s.EndpointOutput(endpoint).data)

    @extend_schema(responses={204: None}, tags=TAG, summary="Delete a webhook endpoint")
    def delete(self, request, endpoint_id):
        services.endpoint_delete(endpoint_id=endpoint_id, **_who(request))
        return Response(status=204)


class EndpointRotateSecretApi(BaseApiView):
    write_grants = OWNER_ONLY

    @extend_schema(
        request=None,
        responses={200: s.EndpointWithSecretOutput},
        tags=TAG,
        summary="New signing secret; the old one also signs for 24 hours",
    )
    def post(self, request, endpoint_id):
        endpoint, secret = services.endpoint_rotate_secret(endpoint_id=endpoint_id, **_who(request))
        return Response(s.EndpointOutput(endpoint).data | {"secret": secret})


class EndpointTestApi(BaseApiView):
    write_grants = OWNER_ONLY

    @extend_schema(
        request=None,
        responses={201: s.WebhookDeliveryOutput},
        tags=TAG,
        summary="Send a webhook.test event to this endpoint",
    )
    def post(self, request, endpoint_id):
        delivery = services.endpoint_send_test(endpoint_id=endpoint_id, **_who(request))
        return Response(s.WebhookDeliveryOutput(delivery).data, status=201)


class EndpointReplayApi(BaseApiView):
    write_grants = OWNER_ONLY

    @extend_schema(
        request=s.ReplayInput,
        responses={200: s.ReplayOutput},
        tags=TAG,
        summary="Send again the failed deliveries of events since a time",
    )
    def post(self, request, endpoint_id):
        values = _valid(s.ReplayInput, request.data)
        count = services.deliveries_replay(
            endpoint_id=endpoint_id, since=values["since"], **_who(request)
        )
        return Response({"replayed": count})


class DeliveryListApi(BaseListApiView):
    read_grants = READ

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=[c[0] for c in s.WebhookDelivery.Status.choices])
        ],
        responses={200: s.WebhookDeliveryOutput(many=True)},
        tags=TAG,
        summary="The endpoint's delivery log, newest first",
    )
    def get(self, request, endpoint_id):
        values = _valid(s.DeliveryListFilter, request.query_params.dict())
        endpoint = _endpoint(request, endpoint_id)
        return self.paged_response(
            selectors.delivery_queryset(
                tenant=request.auth.tenant, endpoint=endpoint, status=values.get("status")
            ),
            s.WebhookDeliveryOutput,
        )


class DeliveryRetryApi(BaseApiView):
    write_grants = OWNER_ONLY

    @extend_schema(
        request=None,
        responses={200: s.WebhookDeliveryOutput},
        tags=TAG,
        summary="Send one delivery again now",
    )
    def post(self, request, endpoint_id, delivery_id):
        delivery = services.delivery_retry(
            endpoint_id=endpoint_id, delivery_id=delivery_id, **_who(request)
        )
        return Response(s.WebhookDeliveryOutput(delivery).data)


class EventListApi(BaseListApiView):
    read_grants = DEFAULT_READ

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "type",
                str,
                enum=[*catalogue.EVENT_TYPES, catalogue.TEST_EVENT_TYPE],
                description=s.EVENT_TYPE_HELP,
            )
        ],
        responses={200: s.EventOutput(many=True)},
        tags=["events"],
        summary="The tenant's event log (at least 30 days), newest first",
    )
    def get(self, request):
        values = _valid(s.EventListFilter, request.query_params.dict())
        return self.paged_response(
            selectors.event_queryset(tenant=request.auth.tenant, type=values.get("type")),
            s.EventOutput,
        )


class EventDetailApi(BaseApiView):
    read_grants = DEFAULT_READ

    @extend_schema(responses={200: s.EventOutput}, tags=["events"], summary="One event")
    def get(self, request, event_id):
        event = selectors.event_get(tenant=request.auth.tenant, event_id=event_id)
        if event is None:
            raise NotFound("No such event.")
        return Response(s.EventOutput(event).data)
