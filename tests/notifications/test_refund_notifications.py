"""Refunds: the tenant gets a refund notice; the platform's finance channel only large refunds."""

import pytest
from django.core import mail


@pytest.fixture
def platform(platform_slack, settings):
    """The finance channel with its default kinds (which include refund_issued)."""
    from notifications.platform.models import _default_kinds
    from notifications.services import platform_slack_update

    settings.NOTIFICATIONS_LARGE_REFUND_AMOUNT = 50_000
    platform_slack_update(
        actor="test",
        webhook_url=platform_slack.url("/services/T000/B000/platform"),
        kinds=_default_kinds(),
    )
    return platform_slack


@pytest.mark.django_db
def test_large_refund_reaches_the_platform_channel_and_the_tenant(emit, platform, tenant):
    emit(
        tenant,
        "refund_issued",
        "in_big",
        dedup_key="refund_issued:r1",
        data={"amount": 75_000, "currency": "usd", "invoice_number": "ACME-7"},
    )
    posts = platform.posts_to("/services/T000/B000/platform")
    assert len(posts) == 1 and "750.00" in posts[0]["text"] and "Acme Corp" in posts[0]["text"]
    recipients = {
        address for m in mail.outbox if "Refund of $750.00 issued" in m.subject for address in m.to
    }
    assert "owner@acme.test" in recipients


@pytest.mark.django_db
def test_small_refund_stays_off_the_platform_channel(emit, platform, tenant):
    emit(
        tenant,
        "refund_issued",
        "in_small",
        dedup_key="refund_issued:r2",
        data={"amount": 1_000, "currency": "usd", "invoice_number": "ACME-8"},
    )
    assert platform.posts_to("/services/T000/B000/platform") == []
    assert any("Refund of $10.00 issued" in m.subject for m in mail.outbox)
