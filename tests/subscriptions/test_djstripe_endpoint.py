"""dj-stripe's own webhook endpoint, mounted at /stripe/webhook/<uuid>/: it finds the signing secret
on its WebhookEndpoint row (the uuid in the URL), verifies the signature and mirrors the event."""

import pytest

from tests.conftest import (
    STRIPE_TEST_KEY as DJSTRIPE_KEY,
)  # the dj-stripe-compatible key stripe_settings uses

pytestmark = pytest.mark.django_db


@pytest.fixture
def djstripe_endpoint(stripe_on, webhook_sink):
    from djstripe.models import WebhookEndpoint

    from billing_project.stripe_gateway.client import configure_global_stripe

    configure_global_stripe()
    # What dj-stripe stores when an endpoint is added in its admin (or synced from Stripe).
    return WebhookEndpoint.sync_from_stripe_data(
        {
            "id": "we_djstripe_test",
            "object": "webhook_endpoint",
            "api_version": None,
            "application": None,
            "created": 1767225600,
            "description": None,
            "enabled_events": ["*"],
            "livemode": False,
            "metadata": {},
            "status": "enabled",
            "url": webhook_sink.url,
            "secret": webhook_sink.secret,
        },
        api_key=DJSTRIPE_KEY,
    )


def test_a_signed_event_is_accepted_and_mirrored_and_a_bad_signature_is_400(
    djstripe_endpoint, webhook_sink, stripe_client, api_client
):
    from djstripe.models import Customer, Event, WebhookEventTrigger

    customer = stripe_client.v1.customers.create(params={"email": "dj@acme.test"})
    webhook_sink.wait_for(lambda events: "customer.created" in [e["type"] for e in events])
    delivery = next(r for r in webhook_sink.requests if '"customer.created"' in r["body"])
    url = f"/stripe/webhook/{djstripe_endpoint.djstripe_uuid}/"

    forged = api_client.generic(
        "POST",
        url,
        delivery["body"],
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE="t=1,v1=deadbeef",
    )
    assert forged.status_code == 400
    assert not Event.objects.exists()

    response = api_client.generic(
        "POST",
        url,
        delivery["body"],
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=delivery["headers"]["Stripe-Signature"],
    )
    assert response.status_code == 200, response.content
    trigger = WebhookEventTrigger.objects.get(pk=int(response.content))
    assert trigger.valid and trigger.processed and trigger.webhook_endpoint == djstripe_endpoint
    assert Event.objects.get(type="customer.created").id == trigger.event.id
    assert Customer.objects.get(id=customer.id).email == "dj@acme.test"


def test_an_unknown_endpoint_uuid_is_404(stripe_on, api_client):
    response = api_client.generic(
        "POST",
        "/stripe/webhook/00000000-0000-0000-0000-000000000000/",
        "{}",
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE="t=1,v1=x",
    )
    assert response.status_code == 404
