"""Demo data of the Finance overview (`manage.py seed_demo` with Stripe configured): two more demo
tenants that pay (Initech on Starter monthly, Umbrella on Professional yearly), so that the finance
demo user sees MRR at once; then the facts are rebuilt from the local mirror (the webhooks of a
`make run` setup reach no web process yet)."""

from __future__ import annotations

from django.core.management import call_command

DEMO_SUBSCRIBERS = [
    ("initech", "Initech", "billing@initech.test", "starter", "monthly"),
    ("umbrella", "Umbrella Corp", "billing@umbrella.test", "professional", "yearly"),
]


def demo_subscribers_ensure(*, stdout) -> None:
    """Idempotent: a tenant that exists is left as it is."""
    from billing_project.stripe_gateway.client import stripe_configured
    from subscriptions.services.subscriptions import subscription_create
    from tenants.models import Tenant
    from tenants.services import tenant_create

    if not stripe_configured():
        return
    for slug, name, email, plan_id, cycle in DEMO_SUBSCRIBERS:
        if Tenant.objects.filter(slug=slug).exists():
            continue
        tenant = tenant_create(name=name, slug=slug, email=email, actor="seed_demo")
        subscription_create(
            tenant=tenant,
            plan_id=plan_id,
            billing_cycle=cycle,
            payment_method="pm_card_visa",
            actor="seed_demo",
        )
        stdout.write(f"tenant {slug} created, subscribed to {plan_id} ({cycle})")
    call_command("analytics_backfill", stdout=stdout)
