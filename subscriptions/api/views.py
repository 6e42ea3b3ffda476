import functools

from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from billing_project.api.exceptions import NotFound
from billing_project.api.negotiation import usual_json_request
from billing_project.api.permissions import OWNER_ONLY
from billing_project.api.renderers import FastJSONRenderer
from billing_project.api.views import BaseApiView
from billing_project.client_ip import client_ip
from subscriptions import selectors
from subscriptions.api.serializers import (
    CancelAtPeriodEndInput,
    ClientSecretOutput,
    PaymentMethodCreateInput,
    PaymentMethodOutput,
    PlanChangeInput,
    PlanOutput,
    PreviewOutput,
    SubscriptionCreateInput,
    SubscriptionOutput,
    SubscriptionPreviewInput,
    SubscriptionUpdateInput,
)
from subscriptions.services import bank_methods
from subscriptions.services import payment_methods as pm_services
from subscriptions.services import subscriptions as sub_services


class PlanListApi(BaseApiView):
    # The catalog is public: pricing pages and signup flows read it without a credential.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses={200: PlanOutput(many=True)}, tags=["plans"], summary="Public plans, by price"
    )
    def get(self, request):
        if "indent" in (request.accepted_media_type or ""):
            return Response(PlanOutput(selectors.plan_list_public(), many=True).data)
        return _catalog_response()

    @classmethod
    def as_view(cls, **initkwargs):
        """The view, with the catalog's usual request answered before DRF's dispatch: a GET or HEAD
        without a query, accepting JSON or anything. DRF's request wrapping, negotiation, checks and
        response finalizing were a fifth of that request's time (issue 21) and decide nothing
        there: no credential, no throttle, one renderer. Every other request is DRF's."""
        view = super().as_view(**initkwargs)

        def plans(request, *args, **kwargs):
            if request.method in ("GET", "HEAD") and usual_json_request(request.META):
                return _catalog_response()
            return view(request, *args, **kwargs)

        # What Django, DRF and the schema generator read off the view (cls, initkwargs, csrf_exempt).
        return functools.update_wrapper(plans, view)


_CATALOG_RENDERER = FastJSONRenderer()


def _allowed_methods(view_class) -> str:
    """The Allow header DRF's finalize_response sets on the view's answers (Django's setup adds
    HEAD beside GET)."""
    view = view_class()
    view.setup(HttpRequest())
    return ", ".join(view.allowed_methods)


_CATALOG_ALLOW = _allowed_methods(PlanListApi)


def _catalog_response() -> HttpResponse:
    # The cached bytes of the usual answer: what the renderer makes of the serialized list.
    body = selectors.plan_list_public_rendered(
        render=lambda plans: _CATALOG_RENDERER.render(PlanOutput(plans, many=True).data)
    )
    response = HttpResponse(body, content_type=_CATALOG_RENDERER.media_type)
    response["Allow"] = _CATALOG_ALLOW
    return response


class PlanDetailApi(BaseApiView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses={200: PlanOutput},
        tags=["plans"],
        summary="One public plan (404 not_found for an unknown, hidden or retired plan)",
    )
    def get(self, request, plan_id: str):
        plan = selectors.plan_get_public(plan_id=plan_id)
        if plan is None:
            raise NotFound("No public plan with this plan_id.")
        return Response(PlanOutput(plan).data)


def _who(request) -> dict:
    return {
        "tenant": request.auth.tenant,
        "actor": request.auth.actor,
        "request_key": request.headers.get("Idempotency-Key"),
    }


def _current(tenant):
    account = selectors.subscription_get_current(tenant=tenant)
    if account is None:
        raise NotFound("This tenant has no live subscription.", code="no_subscription")
    return account


class SubscriptionCreateApi(BaseApiView):
    @extend_schema(
        request=SubscriptionCreateInput,
        responses={201: SubscriptionOutput},
        tags=["subscriptions"],
        summary="Subscribe the tenant to a plan (409 subscription_exists, 402 card_declined, 402 "
        "authentication_required: the first payment needs 3-D Secure)",
    )
    def post(self, request):
        data = SubscriptionCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        account, secret = sub_services.subscription_create(**data.validated_data, **_who(request))
        return Response(
            SubscriptionOutput(account, context={"client_secret": secret}).data, status=201
        )


class SubscriptionCurrentApi(BaseApiView):
    def get_permissions(self):
        if self.request.method == "DELETE":
            self.write_grants = OWNER_ONLY  # cancel-now is the owner's decision alone
        return super().get_permissions()

    @extend_schema(
        responses={200: SubscriptionOutput},
        tags=["subscriptions"],
        summary="The live subscription (404 no_subscription)",
    )
    def get(self, request):
        return Response(SubscriptionOutput(_current(request.auth.tenant)).data)

    # Either form, never both (SubscriptionUpdateInput.validate): a oneOf of two closed objects.
    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="SubscriptionUpdateInput",
            resource_type_field_name=None,
            serializers=[CancelAtPeriodEndInput, PlanChangeInput],
        ),
        responses={200: SubscriptionOutput},
        tags=["subscriptions"],
        summary="Cancel at period end / resume, or change plan",
    )
    def put(self, request):
        data = SubscriptionUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if "cancel_at_period_end" in values:
            account = sub_services.subscription_set_cancel_at_period_end(
                cancel=values["cancel_at_period_end"], **_who(request)
            )
        else:
            account = sub_services.subscription_change_plan(
                plan_id=values["plan_id"],
                billing_cycle=values.get("billing_cycle"),
                when=values.get("when"),
                **_who(request),
            )
        return Response(SubscriptionOutput(account).data)

    @extend_schema(responses={204: None}, tags=["subscriptions"], summary="Cancel now (owner only)")
    def delete(self, request):
        sub_services.subscription_cancel_now(**_who(request))
        return Response(status=204)


class SubscriptionPreviewApi(BaseApiView):
    @extend_schema(
        request=SubscriptionPreviewInput,
        responses={200: PreviewOutput},
        tags=["subscriptions"],
        summary="What a plan change costs now and next (Stripe's invoice preview)",
    )
    def post(self, request):
        data = SubscriptionPreviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        preview = sub_services.subscription_preview_change(
            tenant=request.auth.tenant, **data.validated_data
        )
        return Response(PreviewOutput(preview).data)


class PaymentMethodListApi(BaseApiView):
    @extend_schema(
        responses={200: PaymentMethodOutput(many=True)},
        tags=["payment methods"],
        summary="The tenant's payment methods (cards, SEPA Direct Debit, PayPal)",
    )
    def get(self, request):
        return Response(
            PaymentMethodOutput(
                pm_services.payment_method_list(tenant=request.auth.tenant), many=True
            ).data
        )

    @extend_schema(
        request=PaymentMethodCreateInput,
        responses={201: PaymentMethodOutput},
        tags=["payment methods"],
        summary="Add a payment method: a card (402 card_declined with the decline code in detail), "
        "a SEPA Direct Debit account (IBAN; payments go processing, then settle), or PayPal "
        "(status requires_approval: send the payer to approval_url)",
    )
    def post(self, request):
        data = PaymentMethodCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        who = _who(request)
        if values["type"] == "sepa_debit":
            pm = bank_methods.sepa_debit_attach(
                iban=values.get("iban", ""),
                token=values.get("token", ""),
                account_holder=values.get("account_holder_name", ""),
                mandate_ip=client_ip(request),
                mandate_user_agent=request.headers.get("User-Agent", ""),
                set_default=values["set_default"],
                **who,
            )
        elif values["type"] == "paypal":
            pm = bank_methods.paypal_setup_start(
                return_url=values["return_url"], set_default=values["set_default"], **who
            )
        else:
            pm = pm_services.payment_method_attach(
                token=values["token"], set_default=values["set_default"], **who
            )
        return Response(PaymentMethodOutput(pm).data, status=201)


class PaymentMethodDefaultApi(BaseApiView):
    @extend_schema(
        request=None,
        responses={200: PaymentMethodOutput},
        tags=["payment methods"],
        summary="Make a payment method the default",
    )
    def post(self, request, payment_method_id):
        pm = pm_services.payment_method_set_default(
            payment_method_id=payment_method_id, **_who(request)
        )
        return Response(PaymentMethodOutput(pm).data)


class PaymentMethodDetailApi(BaseApiView):
    @extend_schema(
        responses={204: None},
        tags=["payment methods"],
        summary="Remove a payment method (409 payment_method_in_use for the live subscription's default)",
    )
    def delete(self, request, payment_method_id):
        pm_services.payment_method_detach(payment_method_id=payment_method_id, **_who(request))
        return Response(status=204)


class SetupIntentCreateApi(BaseApiView):
    @extend_schema(
        request=None,
        responses={201: ClientSecretOutput},
        tags=["payment methods"],
        summary="A SetupIntent's client secret for collecting a card with Stripe.js",
    )
    def post(self, request):
        secret = pm_services.setup_intent_create(
            tenant=request.auth.tenant, request_key=request.headers.get("Idempotency-Key")
        )
        return Response({"client_secret": secret}, status=201)


class StripeWebhookApi(BaseApiView):
    """Stripe's deliveries: authenticated by the Stripe-Signature header, not by a credential."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=None,
        responses={200: None},
        tags=["webhooks"],
        summary="Stripe webhook endpoint (400 invalid_signature; each event processed once)",
    )
    def post(self, request):
        from subscriptions.services.webhooks import webhook_receive

        event = webhook_receive(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
        return Response({"received": True, "event_id": event.event_id, "status": event.status})
