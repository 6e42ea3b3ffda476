from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from billing_project.api.views import BaseApiView
from coupons import services
from coupons.api.serializers import CouponApplyInput, CouponApplyOutput


class CouponApplyApi(BaseApiView):
    @extend_schema(
        request=CouponApplyInput,
        responses={200: CouponApplyOutput},
        tags=["coupons"],
        summary="Apply a coupon to the current subscription or hold it for the next "
        "(coupon_not_found, coupon_expired, coupon_exhausted, coupon_not_applicable, "
        "coupon_already_redeemed)",
    )
    def post(self, request):
        data = CouponApplyInput(data=request.data)
        data.is_valid(raise_exception=True)
        redemption, applies_to = services.coupon_apply(
            tenant=request.auth.tenant, code=data.validated_data["code"], actor=request.auth.actor
        )
        coupon = redemption.coupon
        return Response(
            CouponApplyOutput(
                {
                    "code": coupon.code,
                    "percent_off": coupon.percent_off,
                    "amount_off": coupon.amount_off,
                    "currency": coupon.currency or None,
                    "duration": coupon.duration,
                    "duration_in_months": coupon.duration_in_months,
                    "applies_to": applies_to,
                }
            ).data
        )
