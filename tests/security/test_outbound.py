"""The outbound URL policy (billing_project.outbound): a tenant's Slack webhook URL can never make the
service post inside its own network, whether the URL says so (saved: 400 / form error) or only its DNS
answer does (connect time: the delivery fails with the reason and the receiver gets nothing)."""

import pytest
from django_tenants.utils import tenant_context

from billing_project import outbound
from notifications import crypto, gateway
from notifications.models import Delivery, NotificationPreference
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

REFUSED_LITERALS = [
    "https://127.0.0.1/hook",
    "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "https://10.0.0.1/hook",
    "https://172.16.5.4/hook",
    "https://192.168.1.1/hook",
    "https://100.64.0.1/hook",  # CGNAT
    "https://224.0.0.1/hook",  # multicast
    "https://0.0.0.0/hook",
    "https://240.0.0.1/hook",  # reserved
    "https://[::1]/hook",
    "https://[fc00::1]/hook",
    "https://[fe80::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
    "https://[::ffff:a9fe:a9fe]/hook",  # 169.254.169.254, mapped, in hex
    "https://2130706433/hook",  # 127.0.0.1 as a decimal number
    "https://0x7f000001/hook",  # ... in hex
    "https://0177.0.0.1/hook",  # ... in octal
    "https://127.1/hook",
    "https://localhost/hook",
    "https://api.localhost/hook",
]


@pytest.mark.parametrize("url", REFUSED_LITERALS)
def test_non_public_addresses_in_any_spelling_are_refused(url, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = []
    with pytest.raises(outbound.OutboundRefused, match="private or reserved address"):
        outbound.url_check(url)


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://hooks.slack.com/services/T/B/x", "https://"),
        ("ftp://hooks.slack.com/x", "https://"),
        ("https://user:pw@hooks.slack.com/x", "user name or password"),
        ("https:///x", "no host"),
    ],
)
def test_only_https_urls_without_credentials(url, reason, settings):
    settings.OUTBOUND_ALLOW_HTTP = False
    with pytest.raises(outbound.OutboundRefused, match=reason):
        outbound.url_check(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/services/T1/B2/xyz",
        "https://8.8.8.8/hook",
        "https://[2606:4700::1111]/hook",
    ],
)
def test_public_https_urls_pass_the_save_time_check(url):
    outbound.url_check(url)  # no exception


def test_an_allowed_private_host_is_exactly_that_host_and_port(settings):
    settings.OUTBOUND_ALLOW_HTTP = True
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = ["127.0.0.1:8025", "10.9.0.0/16"]
    outbound.url_check("http://127.0.0.1:8025/hook")
    outbound.url_check("https://10.9.3.4/hook")
    for url in ("http://127.0.0.1:8026/hook", "https://10.10.0.1/hook", "https://169.254.169.254/"):
        with pytest.raises(outbound.OutboundRefused):
            outbound.url_check(url)


# --- saved through the API, the portal and the admin ---------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://2130706433/hook",
    ],
)
def test_the_api_refuses_a_private_slack_url_with_a_field_error(url, tenant, owner_client):
    error = assert_error(
        owner_client.put(
            "/api/v1/notifications/preferences", {"slack_webhook_url": url}, format="json"
        ),
        400,
        "invalid_request",
    )
    # DRF's URLField already refuses some spellings as "not a valid URL"; either way a field error.
    assert (
        "private or reserved address" in error["detail"]["slack_webhook_url"][0]
        or "2130706433" in url
    )
    assert (
        owner_client.get("/api/v1/notifications/preferences").json()["slack_webhook_configured"]
        is False
    )


def test_the_api_refuses_a_loopback_url_with_the_receivers_port(tenant, owner_client, receiver):
    error = assert_error(
        owner_client.put(
            "/api/v1/notifications/preferences",
            {"slack_webhook_url": receiver.url()},
            format="json",
        ),
        400,
        "invalid_request",
    )
    assert "127.0.0.1" in error["detail"]["slack_webhook_url"][0]


def test_the_portal_form_shows_the_policy_error(owner_portal, tenant):
    response = owner_portal.post(
        "/notifications/",
        {
            "email_owners": "on",
            "email_billing_admins": "on",
            "extra_emails": "",
            "slack_webhook_url": "https://169.254.169.254/latest/meta-data/",
            "channels_payment_failed": ["email"],
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_slack_webhook_url_error"' in html and "private or reserved address" in html
    with tenant_context(tenant):
        assert not NotificationPreference.objects.filter(slack_webhook_ciphertext__gt="").exists()


def test_the_admin_form_shows_the_policy_error(admin_client):
    from notifications.platform.models import PlatformSlackSettings

    response = admin_client.post(
        "/admin/notifications_platform/platformslacksettings/add/",
        {"enabled": "on", "kinds": ["payment_failed"], "webhook_url": "https://10.0.0.1/x"},
    )
    assert response.status_code == 200
    assert "private or reserved address" in response.content.decode()
    assert not PlatformSlackSettings.objects.exists()


# --- connect time: the real guard ----------------------------------------------------------------------------


def _store_slack_url(tenant, url):
    """A URL stored as-is, as rows saved before the policy existed (or a name whose DNS changed since)."""
    with tenant_context(tenant):
        preference = NotificationPreference.objects.filter(pk=1).first() or NotificationPreference(
            pk=1
        )
        preference.slack_webhook_key_id, preference.slack_webhook_ciphertext = crypto.encrypt(url)
        preference.save()


def _send_test_to_slack(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/notifications/test", {"channels": ["slack"]}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["notification_id"]


def _slack_delivery(tenant, notification_id) -> Delivery:
    with tenant_context(tenant):
        return Delivery.objects.get(notification_id=notification_id, channel="slack")


@pytest.mark.parametrize(
    "stored",
    [
        "{receiver}",  # http://127.0.0.1:<port>/hook
        "http://127.0.0.1.nip.io:{port}/hook",  # a public-looking name for loopback
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/hook",
        "http://[::ffff:127.0.0.1]:{port}/hook",
        "http://2130706433:{port}/hook",
    ],
)
def test_a_test_notification_to_a_private_url_fails_with_the_reason_and_posts_nothing(
    stored, tenant, eager, owner_client, receiver, fake_dns, django_capture_on_commit_callbacks
):
    fake_dns({"127.0.0.1.nip.io": ["127.0.0.1"]})
    _store_slack_url(tenant, stored.format(receiver=receiver.url(), port=receiver.port))
    notification_id = _send_test_to_slack(owner_client, django_capture_on_commit_callbacks)
    delivery = _slack_delivery(tenant, notification_id)
    assert delivery.status == "failed" and delivery.attempts == 1  # refused for good, not retried
    assert "refused by the outbound URL policy" in delivery.last_error
    assert "private or reserved address" in delivery.last_error
    assert receiver.requests == []


def test_a_name_saved_through_the_api_that_resolves_inside_is_refused_when_sending(
    tenant, eager, owner_client, receiver, fake_dns, django_capture_on_commit_callbacks
):
    fake_dns({"127.0.0.1.nip.io": ["127.0.0.1"]})
    url = f"http://127.0.0.1.nip.io:{receiver.port}/hook"
    response = owner_client.put(
        "/api/v1/notifications/preferences", {"slack_webhook_url": url}, format="json"
    )
    assert (
        response.status_code == 200
    )  # a name: only the connect-time check can know where it leads
    delivery = _slack_delivery(
        tenant, _send_test_to_slack(owner_client, django_capture_on_commit_callbacks)
    )
    assert (
        delivery.status == "failed"
        and "127.0.0.1.nip.io resolves to a private" in delivery.last_error
    )
    assert receiver.requests == []


def test_one_private_answer_among_public_ones_refuses_the_name(receiver, fake_dns):
    fake_dns({"mixed.example": ["8.8.8.8", "127.0.0.1"]})
    with pytest.raises(gateway.DeliveryRefused, match=r"private or reserved address \(127.0.0.1\)"):
        gateway.slack_post(url=f"http://mixed.example:{receiver.port}/hook", payload={"text": "x"})
    assert receiver.requests == []


def test_dns_rebinding_after_the_check_never_reaches_the_inside(receiver, fake_dns, settings):
    # Public for the check, loopback for anyone who asks again: the connection goes to the address
    # that was checked (unreachable here), never to a second answer.
    settings.NOTIFICATIONS_SLACK_TIMEOUT_SECONDS = 1
    answers = iter([["192.88.99.200"]])
    calls = fake_dns({"rebind.example": lambda: next(answers, ["127.0.0.1"])})
    with pytest.raises(gateway.DeliveryError) as caught:
        gateway.slack_post(url=f"http://rebind.example:{receiver.port}/hook", payload={"text": "x"})
    assert not isinstance(caught.value, gateway.DeliveryRefused)  # it was allowed, then unreachable
    assert calls == ["rebind.example"]  # resolved once
    assert receiver.requests == []


def test_an_allowed_name_is_posted_to_the_checked_address_with_its_own_host_header(
    receiver, fake_dns, settings
):
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = [f"127.0.0.1:{receiver.port}"]
    fake_dns({"hooks.example.test": ["127.0.0.1"]})
    gateway.slack_post(
        url=f"http://hooks.example.test:{receiver.port}/services/x", payload={"text": "hi"}
    )
    assert receiver.requests == [
        {"path": "/services/x", "host": f"hooks.example.test:{receiver.port}"}
    ]


def test_a_redirect_is_not_followed_even_to_an_allowed_receiver(
    tenant,
    eager,
    owner_client,
    receiver,
    second_receiver,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = [
        f"127.0.0.1:{receiver.port}",
        f"127.0.0.1:{second_receiver.port}",
    ]
    receiver.redirect_to = second_receiver.url("/stolen")
    _store_slack_url(tenant, receiver.url())
    delivery = _slack_delivery(
        tenant, _send_test_to_slack(owner_client, django_capture_on_commit_callbacks)
    )
    assert delivery.status == "failed" and "redirect" in delivery.last_error
    assert len(receiver.requests) == 1 and second_receiver.requests == []


def test_a_redirect_to_the_metadata_address_is_not_followed(receiver, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = [f"127.0.0.1:{receiver.port}"]
    receiver.redirect_to = "http://169.254.169.254/latest/meta-data/"
    with pytest.raises(gateway.DeliveryRefused, match="redirect"):
        gateway.slack_post(url=receiver.url(), payload={"text": "x"})
    assert len(receiver.requests) == 1
