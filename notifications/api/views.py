"""Notifications endpoints. Thin: parse, call one service or selector, render."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from billing_project.api.exceptions import NotFound
from billing_project.api.permissions import DEFAULT_READ, DEFAULT_WRITE, TENANT_ROLES
from billing_project.api.views import BaseApiView, BaseListApiView
from notifications import selectors, services
from notifications.api import serializers as s


class NotificationListApi(BaseListApiView):
    read_grants = DEFAULT_READ

    @extend_schema(
        responses={200: s.NotificationOutput(many=True)},
        tags=["notifications"],
        summary="In-app notifications, newest first, with their deliveries per channel",
    )
    def get(self, request):
        return self.paged_response(
            selectors.notification_list(tenant=request.auth.tenant), s.NotificationOutput
        )


class NotificationReadApi(BaseApiView):
    # Reading a notification changes nothing of the billing: every member of the tenant may.
    write_grants = TENANT_ROLES

    @extend_schema(
        request=None,
        responses={200: s.NotificationOutput},
        tags=["notifications"],
        summary="Mark a notification read",
    )
    def post(self, request, notification_id):
        notification = services.notification_mark_read(
            tenant=request.auth.tenant, notification_id=notification_id
        )
        notification = (
            selectors.notification_list(tenant=request.auth.tenant)
            .filter(pk=notification.pk)
            .first()
        )
        if notification is None:
            raise NotFound("Notification not found.")
        return Response(s.NotificationOutput(notification).data)


class PreferencesApi(BaseApiView):
    read_grants = DEFAULT_READ
    write_grants = DEFAULT_WRITE

    @extend_schema(
        responses={200: s.PreferencesOutput},
        tags=["notifications"],
        summary="The tenant's notification preferences (defaults until changed)",
    )
    def get(self, request):
        return Response(
            s.PreferencesOutput(selectors.preference_get(tenant=request.auth.tenant)).data
        )

    @extend_schema(
        request=s.PreferencesInput,
        responses={200: s.PreferencesOutput},
        tags=["notifications"],
        summary="Change notification preferences (fields left out keep their value)",
    )
    def put(self, request):
        data = s.PreferencesInput(data=request.data)
        data.is_valid(raise_exception=True)
        preference = services.preference_update(
            tenant=request.auth.tenant, actor=request.auth.actor, **data.validated_data
        )
        return Response(s.PreferencesOutput(preference).data)


class TestNotificationApi(BaseApiView):
    write_grants = DEFAULT_WRITE

    @extend_schema(
        request=s.TestNotificationInput,
        responses={201: s.NotificationOutput},
        tags=["notifications"],
        summary="Send a test notification on the tenant's channels",
    )
    def post(self, request):
        data = s.TestNotificationInput(data=request.data)
        data.is_valid(raise_exception=True)
        notification = services.notification_test_send(
            tenant=request.auth.tenant,
            actor=request.auth.actor,
            channels=data.validated_data.get("channels"),
        )
        return Response(s.NotificationOutput(notification).data, status=201)
