"""Billing events -> email, Slack and in-app, delivered once, retried with backoff, logged."""

import re

import pytest
from django_tenants.utils import tenant_context
from prometheus_client import REGISTRY

from notifications import tasks
from notifications.models import Delivery, Notification
from tests.notifications.conftest import PAYMENT_FAILED

pytestmark = pytest.mark.django_db

SLACK_PATH = "/services/T000/B000/tenant"
PLATFORM_PATH = "/services/T000/B000/platform"


def deliveries(tenant):
    with tenant_context(tenant):
        return {(d.channel, d.recipient): d for d in Delivery.objects.all()}


def metric(channel, kind, status):
    return (
        REGISTRY.get_sample_value(
            "billing_notifications_total", {"channel": channel, "kind": kind, "status": status}
        )
        or 0
    )


def test_failed_payment_emails_the_owner_and_billing_admin_posts_to_slack_and_lists_in_app(
    tenant, tenant_slack, emit, mailoutbox
):
    before = metric("email", "payment_failed", "sent")
    emit(tenant, "payment_failed", "in_42", "payment_failed:in_42:1", PAYMENT_FAILED)

    assert sorted(m.to[0] for m in mailoutbox) == ["admin@acme.test", "owner@acme.test"]
    email = mailoutbox[0]
    assert email.subject == "Payment of $1,234.50 failed · Acme Corp"
    # The button opens the portal's payment-method page (issue 14), not Stripe's page nor the portal's home.
    assert "ACME-0042" in email.body and "http://acme.localhost:8000/payment-methods/" in email.body
    html, mime = email.alternatives[0]
    assert mime == "text/html" and "Update payment method" in html and "$1,234.50" in html
    assert email.reply_to == ["billing@acme.test"]

    [post] = tenant_slack.posts_to(SLACK_PATH)
    assert post["text"].startswith("Payment of $1,234.50 failed")
    assert post["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Payment of $1,234.50 failed"},
    }
    assert {"type": "mrkdwn", "text": "*Invoice*\nACME-0042"} in post["blocks"][2]["fields"]
    assert post["blocks"][3]["elements"][0]["url"] == "http://acme.localhost:8000/payment-methods/"

    log = deliveries(tenant)
    assert {key: d.status for key, d in log.items()} == {
        ("email", "owner@acme.test"): "sent",
        ("email", "admin@acme.test"): "sent",
        ("slack", "tenant"): "sent",
    }
    assert all(d.attempts == 1 and d.sent_at for d in log.values())
    with tenant_context(tenant):
        [notification] = Notification.objects.all()
    assert notification.title == "Payment of $1,234.50 failed" and notification.in_app
    assert metric("email", "payment_failed", "sent") == before + 2


def test_repeated_webhook_of_the_same_attempt_sends_nothing_new_but_the_next_attempt_does(
    tenant, tenant_slack, emit, mailoutbox
):
    emit(tenant, "payment_failed", "in_43", "payment_failed:in_43:1", PAYMENT_FAILED)
    assert emit(tenant, "payment_failed", "in_43", "payment_failed:in_43:1", PAYMENT_FAILED) is None
    assert len(mailoutbox) == 2 and len(tenant_slack.received) == 1

    emit(
        tenant,
        "payment_failed",
        "in_43",
        "payment_failed:in_43:2",
        {**PAYMENT_FAILED, "attempt": 2},
    )
    assert len(mailoutbox) == 4 and len(tenant_slack.received) == 2
    with tenant_context(tenant):
        assert Notification.objects.count() == 2


def test_rerun_jobs_do_not_deliver_twice(tenant, tenant_slack, emit, mailoutbox):
    from notifications import services

    event = emit(
        tenant,
        "invoice_overdue",
        "in_44",
        None,
        {"amount": 5000, "currency": "usd", "due_date": "2026-11-01"},
    )
    services.notification_create_for_event(tenant=tenant, event=event)  # the consumer runs again
    for delivery in deliveries(tenant).values():  # a redelivered Celery message for each delivery
        with tenant_context(tenant):
            tasks.delivery_send.delay(delivery.pk)
    services.deliveries_retry_due(tenant=tenant)  # the sweep
    assert len(mailoutbox) == 2 and len(tenant_slack.received) == 1
    assert all(d.attempts == 1 for d in deliveries(tenant).values())


def test_slack_failure_is_retried_with_backoff_then_sent_once(
    tenant, tenant_slack, emit, settings, caplog, mailoutbox
):
    settings.NOTIFICATIONS_RETRY_BACKOFF_SECONDS = 30
    tenant_slack.fail_first = 2
    emit(
        tenant,
        "usage_limit_exceeded",
        "api_calls:2026-11-01",
        None,
        {"resource_type": "api_calls", "threshold": 100, "used": "1000", "limit": 1000},
    )

    # Eager Celery runs each retry at once; a worker would wait the countdown (30 s, then 60 s).
    waits = [re.search(r"retry in (\d+)s", r.getMessage()) for r in caplog.records]
    assert [int(w.group(1)) for w in waits if w] == [30, 60]
    slack_delivery = deliveries(tenant)[("slack", "tenant")]
    assert slack_delivery.status == "sent" and slack_delivery.attempts == 3
    assert (
        "Slack answered 500" in slack_delivery.last_error
    )  # the last failure stays visible in the log
    assert tenant_slack.requests == 3 and len(tenant_slack.received) == 1
    assert (
        deliveries(tenant)[("email", "owner@acme.test")].attempts == 1
    )  # the email was not held back

    with tenant_context(tenant):  # the countdown task arriving late changes nothing
        tasks.delivery_send.delay(slack_delivery.pk)
    assert tenant_slack.requests == 3


def test_a_retrying_delivery_waits_with_exponential_backoff(tenant, tenant_slack, settings):
    from notifications import services
    from notifications.services import notification_create_for_event

    settings.NOTIFICATIONS_RETRY_BACKOFF_SECONDS = 30
    tenant_slack.fail_first = -1
    from notifications.events import billing_event_emit

    event = billing_event_emit(tenant=tenant, kind="invoice_overdue", object_id="in_90")
    notification_create_for_event(
        tenant=tenant, event=event
    )  # no commit in this test: nothing is sent yet
    slack_delivery = deliveries(tenant)[("slack", "tenant")]
    assert services.delivery_attempt(tenant=tenant, delivery_id=slack_delivery.pk) == 30
    assert services.delivery_attempt(tenant=tenant, delivery_id=slack_delivery.pk) == 60
    slack_delivery = deliveries(tenant)[("slack", "tenant")]
    assert slack_delivery.status == "retrying" and slack_delivery.attempts == 2
    assert 59 <= (slack_delivery.next_attempt_at - slack_delivery.updated).total_seconds() <= 61


def test_failure_is_logged_after_the_last_retry(tenant, tenant_slack, emit, settings, mailoutbox):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    tenant_slack.fail_first = -1
    before = metric("slack", "subscription_canceled", "failed")
    emit(tenant, "subscription_canceled", "sub_1", None, {})
    slack_delivery = deliveries(tenant)[("slack", "tenant")]
    with tenant_context(tenant):  # a re-run job after the last retry sends nothing
        tasks.delivery_send.delay(slack_delivery.pk)
    slack_delivery = deliveries(tenant)[("slack", "tenant")]
    assert slack_delivery.status == "failed" and slack_delivery.attempts == 3
    assert (
        slack_delivery.last_error.startswith("Slack answered 500")
        and slack_delivery.next_attempt_at is None
    )
    assert tenant_slack.requests == 3 and tenant_slack.received == []
    assert metric("slack", "subscription_canceled", "failed") == before + 1


def test_preferences_choose_channels_and_recipients(tenant, tenant_slack, emit, mailoutbox):
    from notifications.services import preference_update

    preference_update(
        tenant=tenant,
        actor="test",
        email_billing_admins=False,
        extra_emails=["Finance@Acme.test"],
        channels={"payment_succeeded": ["email"], "invoice_overdue": ["in_app"]},
    )
    emit(
        tenant,
        "payment_succeeded",
        "in_50",
        None,
        {"amount": 2900, "currency": "usd", "invoice_pdf": "https://x/pdf"},
    )
    # (A receipt also goes to the billing details' invoice email: the tenant's, none being saved.)
    assert sorted(m.to[0] for m in mailoutbox) == [
        "billing@acme.test",
        "finance@acme.test",
        "owner@acme.test",
    ]
    emit(tenant, "invoice_overdue", "in_51", None, {"amount": 2900, "currency": "usd"})
    assert len(mailoutbox) == 3 and tenant_slack.received == []
    with tenant_context(tenant):
        assert list(Notification.objects.filter(in_app=True).values_list("kind", flat=True)) == [
            "invoice_overdue"
        ]


def test_platform_channel_gets_failed_payments_of_every_tenant_in_english(
    tenant, other_tenant, platform_slack, emit, mailoutbox
):
    emit(other_tenant, "payment_failed", "in_60", "payment_failed:in_60:1", PAYMENT_FAILED)
    emit(tenant, "payment_succeeded", "in_61", None, {"amount": 2900, "currency": "usd"})
    [post] = platform_slack.posts_to(PLATFORM_PATH)
    assert post["blocks"][0]["text"]["text"] == "[Globex] Payment of $1,234.50 failed"
    # globex's own email is in its language
    globex_mail = [m for m in mailoutbox if m.to == ["owner@globex.test"]]
    assert globex_mail[0].subject.startswith("Falha no pagamento de US$\xa01.234,50")


def test_slack_url_is_encrypted_at_rest_and_survives_key_rotation(tenant, settings):
    from django.db import connection

    from notifications import selectors, services

    url = "https://hooks.slack.com/services/T1/B1/secret"
    services.preference_update(tenant=tenant, actor="test", slack_webhook_url=url)
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            "SELECT slack_webhook_ciphertext, slack_webhook_key_id FROM notifications_notificationpreference"
        )
        ciphertext, key_id = cursor.fetchone()
    assert "hooks.slack.com" not in ciphertext and key_id

    settings.FIELD_ENCRYPTION_OLD_KEYS = [settings.FIELD_ENCRYPTION_KEY]
    settings.FIELD_ENCRYPTION_KEY = "a-new-key-after-rotation"
    assert selectors.preference_slack_url(selectors.preference_get(tenant=tenant)) == url
    assert services.secrets_reencrypt() >= 1
    settings.FIELD_ENCRYPTION_OLD_KEYS = []
    preference = selectors.preference_get(tenant=tenant)
    assert (
        preference.slack_webhook_key_id != key_id
        and selectors.preference_slack_url(preference) == url
    )
