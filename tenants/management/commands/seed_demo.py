import os

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from billing_details.models import BillingDetails
from billing_details.services import billing_details_update
from billing_project.stripe_gateway.client import stripe_configured
from coupons.services import coupon_ensure
from subscriptions.models import Plan
from subscriptions.selectors import plan_catalog_invalidate
from subscriptions.services.catalog import plan_sync_to_stripe
from subscriptions.services.plan_edits import plan_create
from tenants import services
from tenants.models import Membership, Role, Tenant, User

DEMO_TENANTS = [
    (
        "acme",
        "Acme Corp",
        "billing@acme.test",
        "en",
        [("owner@acme.test", Role.OWNER), ("viewer@acme.test", Role.VIEWER)],
    ),
    ("globex", "Globex", "billing@globex.test", "pt-br", [("owner@globex.test", Role.OWNER)]),
]
# Who bills in euros: the tenant's billing country picks its plans' currency (a country whose
# currency the catalog has plans in; else USD, see subscriptions.selectors.billing_currency_get).
# Globex is in Portugal: it is offered the EUR plans and can pay them by SEPA Direct Debit.
DEMO_BILLING_DETAILS = {
    "globex": {
        "legal_name": "Globex Portugal, Lda.",
        "address": {
            "line1": "Avenida da Liberdade 110",
            "city": "Lisboa",
            "postal_code": "1250-146",
            "country": "PT",
        },
    },
}
# The demo catalog in euros, beside the seed's four USD plans (same features and limits).
EUR_PLANS = [("free", 0, 0), ("starter", 2900, 29000), ("professional", 9900, 99000)]
EUR_PLANS += [("enterprise", 29900, 299000)]
FINANCE_USER = "finance@platform.test"
WELCOME_COUPON = {
    "code": "WELCOME20",
    "name": "Welcome: 20% off the first invoice",
    "percent_off": 20,
    "duration": "once",
}


class Command(BaseCommand):
    help = "Load the demo tenants and users (idempotent). Password: DEMO_PASSWORD or demo12345."

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD") or "demo12345"
        for slug, name, email, locale, members in DEMO_TENANTS:
            tenant = Tenant.objects.filter(slug=slug).first()
            if tenant is None:
                tenant = services.tenant_create(
                    name=name, slug=slug, email=email, locale=locale, actor="seed_demo"
                )
                self.stdout.write(f"tenant {slug} created")
            for member_email, role in members:
                if not Membership.objects.filter(tenant=tenant, user__email=member_email).exists():
                    with transaction.atomic():
                        services.membership_create(
                            tenant=tenant,
                            email=member_email,
                            role=role,
                            password=password,
                            actor="seed_demo",
                        )
                self._set_password(member_email, password)
        finance = User.objects.filter(email=FINANCE_USER).first() or User.objects.create_user(
            email=FINANCE_USER, password=password, is_staff=True
        )
        finance.groups.add(Group.objects.get(name="finance"))
        self._set_password(FINANCE_USER, password)
        coupon, created = coupon_ensure(actor="seed_demo", **WELCOME_COUPON)
        self.stdout.write(
            f"coupon {coupon.code} "
            + ("created" if created else "exists")
            + ("" if coupon.stripe_promotion_code_id else " (mirrored to Stripe on first use)")
        )
        self._eur_plans()
        for slug, details in DEMO_BILLING_DETAILS.items():
            tenant = Tenant.objects.get(slug=slug)
            if not BillingDetails.objects.filter(tenant=tenant).exists():
                if stripe_configured():
                    billing_details_update(tenant=tenant, data=details, actor="seed_demo")
                else:  # the Stripe customer follows on its first sync
                    address = details["address"]
                    BillingDetails.objects.create(
                        tenant=tenant, legal_name=details["legal_name"], **address
                    )
                self.stdout.write(
                    f"billing details of {slug} set ({details['address']['country']})"
                )
        from analytics.demo import demo_subscribers_ensure

        demo_subscribers_ensure(stdout=self.stdout)  # paying tenants for the Finance overview
        self.stdout.write(self.style.SUCCESS("demo data ready"))

    def _eur_plans(self) -> None:
        """`<code>-eur` copies of the seed plans, priced in euros (idempotent)."""
        for code, monthly, yearly in EUR_PLANS:
            if Plan.objects.filter(code=f"{code}-eur").exists():
                continue
            base = Plan.objects.get(code=code)
            plan = plan_create(
                actor="seed_demo",
                code=f"{code}-eur",
                name=base.name,
                description=base.description,
                currency="eur",
                price_monthly=monthly,
                price_yearly=yearly,
                features=base.features,
                feature_keys=base.feature_keys,
                limits=base.limits,
                hard_limits=base.hard_limits,
                alert_thresholds=base.alert_thresholds,
                overage_resource=base.overage_resource,
                overage_unit_amount=base.overage_unit_amount,
                overage_block_size=base.overage_block_size,
                trial_days=base.trial_days,
                trial_without_card=base.trial_without_card,
            )
            if stripe_configured():
                plan_sync_to_stripe(plan=plan, actor="seed_demo")
            self.stdout.write(f"plan {plan.code} created (EUR)")
        plan_catalog_invalidate()

    @staticmethod
    def _set_password(email: str, password: str) -> None:
        # Re-running with another DEMO_PASSWORD updates the demo logins instead of leaving old ones.
        user = User.objects.get(email=email)
        if not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
