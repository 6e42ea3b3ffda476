"""End to end from the Stripe emulator: a declined renewal reaches the tenant's people once.

Subscription on a card that fails every charge -> the test clock passes the trial end -> Stripe's
invoice.payment_failed webhook -> billing event -> one email to the owner and one Slack message,
and re-delivering the same webhooks sends nothing more.
"""

import pytest
from django.core import mail

from notifications.services import preference_update
from tests.notifications.conftest import eager, slack, tenant_slack  # noqa: F401  (fixtures)
from tests.subscriptions.conftest import catalog, hooks, stripe_on, subscribe  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def test_declined_renewal_sends_one_email_and_one_slack_message(
    hooks,  # noqa: F811 (a pytest fixture imported above)
    tenant_slack,  # noqa: F811 (a pytest fixture imported above)
    eager,  # noqa: F811 (a pytest fixture imported above)
    owner_client,
    tenant,
    django_capture_on_commit_callbacks,
):
    from subscriptions.services.clocks import test_clock_advance

    preference_update(
        tenant=tenant, actor="test", email_owners=True, email_billing_admins=False, extra_emails=[]
    )
    subscribe(
        owner_client, plan_id="starter", payment_method="pm_card_chargeCustomerFail", trial_days=3
    )
    with django_capture_on_commit_callbacks(execute=True):
        hooks.deliver()
    mail.outbox.clear()
    sent_before = len(tenant_slack.received)

    test_clock_advance(tenant=tenant, days=4)
    deliveries = hooks.pending()
    assert any('"invoice.payment_failed"' in r["body"] for r in deliveries)
    with django_capture_on_commit_callbacks(execute=True):
        hooks.deliver(deliveries)

    def failed_mails():
        return [(m.to, m.subject) for m in mail.outbox if "failed" in m.subject.lower()]

    def failed_slack():
        return [
            p for p in tenant_slack.received[sent_before:] if "failed" in p["json"]["text"].lower()
        ]

    # (The trial's end also announces itself; only the failed payment is counted here.)
    assert failed_mails() == [(["owner@acme.test"], "Payment of $29.00 failed · Acme Corp")]
    assert len(failed_slack()) == 1, tenant_slack.received[sent_before:]
    total_mails, total_slack = len(mail.outbox), len(tenant_slack.received)

    # Stripe retries webhooks: the same deliveries again notify nobody.
    with django_capture_on_commit_callbacks(execute=True):
        hooks.deliver(deliveries)
    assert (len(mail.outbox), len(tenant_slack.received)) == (total_mails, total_slack)
