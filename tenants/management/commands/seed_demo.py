import os

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from coupons.services import coupon_ensure
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
        from analytics.demo import demo_subscribers_ensure

        demo_subscribers_ensure(stdout=self.stdout)  # paying tenants for the Finance overview
        self.stdout.write(self.style.SUCCESS("demo data ready"))

    @staticmethod
    def _set_password(email: str, password: str) -> None:
        # Re-running with another DEMO_PASSWORD updates the demo logins instead of leaving old ones.
        user = User.objects.get(email=email)
        if not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
