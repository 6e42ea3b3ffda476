"""The finance back-office as the platform's staff groups see it (issue 14, item 6): signed in through
/admin/login/ like a person, every page of the admin index opens, invoices show their real amounts
(USD and JPY), and money actions are offered (and done) only where they are possible and only to finance."""

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django_tenants.utils import tenant_context

from tests.conftest import DEMO_PASSWORD, new_client
from tests.invoicing.conftest import billing, celery_eager, media, stripe_on  # noqa: F401 (fixtures)

# What ARCHITECTURE.md says the back-office shows: every staff group must be able to open these.
BACK_OFFICE = {
    "tenants.tenant",
    "tenants.membership",
    "tenants.apikey",
    "tenants.auditevent",
    "subscriptions.plan",
    "subscriptions.billingaccount",
    "subscriptions.webhookevent",
    "coupons.coupon",
    "policies.billingpolicy",
    "djstripe.invoice",
    "djstripe.customer",
    "djstripe.subscription",
    "usage.meter",
    "usage.usageevent",
    "usage.usagerollup",
    "usage.usagedailyrollup",
    "usage.usagealert",
    "usage.meterpush",
    "usage.collector",
    "usage.collectorrun",
    "notifications.delivery",
    "notifications_platform.platformslacksettings",
    "webhooks.webhookendpoint",
    "webhooks.webhookdelivery",
    "webhooks.event",
}


def staff_login(email: str) -> Client:
    """A browser session signed in through the admin's login form (not force_login: the password path)."""
    client = Client(
        REMOTE_ADDR=new_client().defaults["REMOTE_ADDR"]
    )  # its own address for the login throttle
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": email, "password": DEMO_PASSWORD, "next": "/admin/"},
    )
    assert response.status_code == 302 and response["Location"] == "/admin/", response.content[:500]
    return client


def index_models(client) -> dict[str, str]:
    """label -> changelist URL of every model on the admin index of this user."""
    response = client.get("/admin/")
    assert response.status_code == 200
    return {
        f"{app['app_label']}.{model['object_name'].lower()}": model["admin_url"]
        for app in response.context["app_list"]
        for model in app["models"]
        if model.get("admin_url")
    }


def first_change_url(response) -> str | None:
    """The first row's change link of a rendered changelist."""
    found = re.search(
        r'<th class="field-[^"]*"><a href="([^"]+/change/[^"]*)"', response.content.decode()
    )
    return found.group(1).replace("&amp;", "&") if found else None


def open_everything(client) -> dict[str, int]:
    """Every changelist of the index and the first change page of each: label -> status of the worst page."""
    statuses, opened = {}, set()
    for label, url in sorted(index_models(client).items()):
        listing = client.get(url)
        statuses[label] = listing.status_code
        change = first_change_url(listing) if listing.status_code == 200 else None
        if change:
            statuses[label] = max(statuses[label], client.get(change).status_code)
            opened.add(label)
    statuses["_change_pages_opened"] = opened
    return statuses


@pytest.fixture
def invoices(billing, tenant, other_tenant):  # noqa: F811 (a pytest fixture imported above)
    """acme: a paid $67.75 invoice and an open $290.00 one; globex: a paid ¥2,900 one."""
    from djstripe.models import Invoice

    billing.subscribe(tenant, amount=6_775)

    def open_invoice(
        who, amount, currency
    ):  # (the emulator bills invoice items in USD whatever their currency)
        account = billing.customer(who, card=None)
        billing.stripe.v1.invoice_items.create(
            params={
                "customer": account.stripe_customer_id,
                "amount": amount,
                "currency": currency,
                "description": "Setup",
            }
        )
        draft = billing.stripe.v1.invoices.create(
            params={
                "customer": account.stripe_customer_id,
                "collection_method": "send_invoice",
                "days_until_due": 10,
                "pending_invoice_items_behavior": "include",
            }
        )
        billing.stripe.v1.invoices.finalize_invoice(draft.id)
        billing.dispatch()
        return Invoice.objects.get(id=draft.id)

    opened = open_invoice(tenant, 29_000, "usd")
    billing.subscribe(other_tenant, amount=2_900, currency="jpy")
    yen = Invoice.objects.filter(customer__subscriber=other_tenant).get()
    paid = Invoice.objects.filter(customer__subscriber=tenant, stripe_data__status="paid").get()
    return {"paid": paid, "open": opened, "yen": yen}


def test_finance_opens_every_admin_page_and_sees_the_real_amounts(invoices, tenant):
    finance = staff_login("finance@platform.test")
    statuses = open_everything(finance)
    opened = statuses.pop("_change_pages_opened")
    assert BACK_OFFICE <= set(statuses), (
        f"missing from finance's admin: {BACK_OFFICE - set(statuses)}"
    )
    assert {label: status for label, status in statuses.items() if status != 200} == {}
    # A change page of each kind of page the issue named (audit log, usage, notifications, policy, invoices).
    assert {
        "tenants.auditevent",
        "usage.meter",
        "notifications.delivery",
        "policies.billingpolicy",
        "djstripe.invoice",
        "tenants.tenant",
        "subscriptions.plan",
    } <= opened

    listing = finance.get("/admin/djstripe/invoice/").content.decode()
    assert "$67.75" in listing and "$290.00" in listing and "¥2,900" in listing
    assert "$6,775.00" not in listing and "¥29.00" not in listing

    paid = finance.get(f"/admin/djstripe/invoice/{invoices['paid'].pk}/change/").content.decode()
    number = invoices["paid"].stripe_data["number"]
    assert f"Invoice {number} for $67.75 (paid)" in paid
    assert "$6,775.00" not in paid
    assert "Refund…</a> (up to $67.75)" in paid and "Credit note…" not in paid

    opened_page = finance.get(
        f"/admin/djstripe/invoice/{invoices['open'].pk}/change/"
    ).content.decode()
    assert (
        f"Invoice {invoices['open'].stripe_data['number']} for $290.00 (open, $290.00 due)"
        in opened_page
    )
    assert "Refund…" not in opened_page and "Credit note…</a> (up to $290.00)" in opened_page

    yen = finance.get(f"/admin/djstripe/invoice/{invoices['yen'].pk}/change/").content.decode()
    assert "for ¥2,900 (paid)" in yen and "Refund…</a> (up to ¥2,900)" in yen


def test_refund_only_of_what_a_paid_invoice_took(invoices, tenant):
    from billing_project.api.exceptions import Conflict
    from invoicing.models import Refund
    from invoicing.services import finance as finance_services

    finance = staff_login("finance@platform.test")
    opened, paid = invoices["open"], invoices["paid"]

    # The unpaid invoice: the form is not offered, a forged POST refunds nothing, nor does the service.
    form = finance.get(f"/admin/djstripe/invoice/{opened.pk}/refund/")
    assert form.status_code == 302 and form["Location"].endswith(
        f"/admin/djstripe/invoice/{opened.pk}/change/"
    )
    forged = finance.post(
        f"/admin/djstripe/invoice/{opened.pk}/refund/",
        {"amount": "10.00", "reason": "x"},
        follow=True,
    )
    assert "Refund: not possible on this invoice (open" in forged.content.decode()
    with tenant_context(tenant):
        with pytest.raises(Conflict) as refused:
            finance_services.refund_create(
                tenant=tenant,
                invoice_id=opened.id,
                amount=1000,
                reason="x",
                actor="finance@platform.test",
            )
        assert refused.value.code == "invoice_not_refundable"
        assert not Refund.objects.filter(invoice_id=opened.id).exists()

    # The paid one: part of it, then the form offers only the remainder and refuses more.
    done = finance.post(
        f"/admin/djstripe/invoice/{paid.pk}/refund/", {"amount": "20.00", "reason": "goodwill"}
    )
    assert done.status_code == 302
    page = finance.get(f"/admin/djstripe/invoice/{paid.pk}/change/").content.decode()
    assert (
        "Refund…</a> (up to $47.75)" in page and "succeeded $20.00 by finance@platform.test" in page
    )
    too_much = finance.post(
        f"/admin/djstripe/invoice/{paid.pk}/refund/", {"amount": "47.76", "reason": "x"}
    )
    assert too_much.status_code == 200 and "at most 47.75 USD" in too_much.content.decode()
    with tenant_context(tenant):
        assert sorted(
            Refund.objects.filter(invoice_id=paid.id).values_list("amount", flat=True)
        ) == [2000]


@pytest.mark.parametrize("group", ["support", "read_only"])
def test_support_and_read_only_read_everything_and_move_no_money(
    invoices, tenant, group, django_user_model
):
    email = f"{group}-reader@platform.test"
    user = django_user_model.objects.create_user(email=email, password=DEMO_PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client = staff_login(email)
    statuses = open_everything(client)
    statuses.pop("_change_pages_opened")
    assert BACK_OFFICE <= set(statuses), (
        f"missing from {group}'s admin: {BACK_OFFICE - set(statuses)}"
    )
    assert {label: status for label, status in statuses.items() if status != 200} == {}

    paid = invoices["paid"]
    page = client.get(f"/admin/djstripe/invoice/{paid.pk}/change/").content.decode()
    assert "for $67.75 (paid)" in page and "Refund…" not in page
    for view in ("refund", "credit-note", "refunds-pending"):
        url = (
            f"/admin/djstripe/invoice/{paid.pk}/{view}/"
            if view != "refunds-pending"
            else "/admin/djstripe/invoice/refunds-pending/"
        )
        assert client.get(url).status_code == 403
        assert client.post(url, {"amount": "1.00", "reason": "x"}).status_code == 403

    actions, deliveries, endpoints, webhook_deliveries = (
        action_names(client, "/admin/djstripe/invoice/"),
        action_names(client, "/admin/notifications/delivery/"),
        action_names(client, "/admin/webhooks/webhookendpoint/"),
        action_names(client, "/admin/webhooks/webhookdelivery/"),
    )
    if group == "support":
        assert actions == {"resend", "rerender_pdf"} and deliveries == {"resend"}
        assert endpoints == {"send_test", "replay_week", "enable", "disable"}
        assert webhook_deliveries == {"retry"}
    else:
        assert actions == set() and deliveries == set()
        assert endpoints == set() and webhook_deliveries == set()
    voided = client.post(
        "/admin/djstripe/invoice/", {"action": "void", "_selected_action": [invoices["open"].pk]}
    )
    assert voided.status_code in (200, 302)
    assert billing_status(invoices["open"]) == "open"


def action_names(client, url) -> set[str]:
    form = client.get(url).context["action_form"]  # None when the user has no action there
    return (
        {name for name, _ in form.fields["action"].choices if name} if form is not None else set()
    )


def billing_status(invoice) -> str:
    invoice.refresh_from_db()
    return invoice.stripe_data["status"]


def test_stripe_coupon_titles_read_minor_units():
    from djstripe.models import Coupon

    import invoicing.admin  # noqa: F401 (the admin module fixes the titles)

    assert (
        str(Coupon(id="c1", stripe_data={"amount_off": 500, "currency": "usd", "duration": "once"}))
        == "$5.00 off once"
    )
    assert (
        str(Coupon(id="c2", stripe_data={"amount_off": 500, "currency": "jpy", "duration": "once"}))
        == "¥500 off once"
    )


@pytest.mark.django_db
def test_the_admin_index_names_its_models_in_plain_english(tenant):
    """Django makes a plural by adding "s": the index listed "Credit ledger entrys" and "Api keys"."""
    response = staff_login("finance@platform.test").get("/admin/")
    names = [str(model["name"]) for app in response.context["app_list"] for model in app["models"]]
    assert {"Credit ledger entries", "API keys"} <= set(names), names
    assert not [name for name in names if re.search(r"[^aeiou]ys$", name)], names


@pytest.mark.django_db
def test_the_admin_index_links_the_pages_kept_in_tenant_schemas(tenant):
    """django-tenants' admin index greyed out usage, notifications and webhooks in the public schema
    ("Not available for global schema") though their pages work there, one tenant at a time."""
    finance = staff_login("finance@platform.test")
    page = finance.get("/admin/").content.decode()
    assert "Not available" not in page
    for url in ("/admin/usage/usageevent/", "/admin/notifications/delivery/"):
        assert f'href="{url}"' in page, url
        assert finance.get(url, follow=True).status_code == 200, url


@pytest.mark.django_db
def test_the_audit_log_and_the_stripe_event_log_cannot_be_deleted_in_the_admin(tenant):
    """Both are records, not working data: the audit log is append-only, and a Stripe event's row
    is what keeps a redelivery from being handled twice. Not even a superuser deletes them by hand
    (finance's group holds delete_webhookevent from subscriptions/0004)."""
    from django.contrib.auth import get_user_model

    from subscriptions.models import WebhookEvent
    from tenants.models import AuditEvent

    audit = AuditEvent.objects.create(tenant=tenant, actor="finance@test", action="plan.update")
    event = WebhookEvent.objects.create(event_id="evt_kept", type="invoice.paid", payload={})
    root = get_user_model().objects.create_superuser(
        email="root@platform.test", password="correct-horse-9"
    )
    for client in (staff_login("finance@platform.test"), Client()):
        if "_auth_user_id" not in client.session:
            client.force_login(root)
        for changelist, row in (
            ("/admin/tenants/auditevent/", audit),
            ("/admin/subscriptions/webhookevent/", event),
        ):
            listing = client.get(changelist)
            assert listing.status_code == 200
            assert 'value="delete_selected"' not in listing.content.decode()
            assert client.get(f"{changelist}{row.pk}/delete/").status_code == 403
    assert AuditEvent.objects.filter(pk=audit.pk).exists()
    assert WebhookEvent.objects.filter(pk=event.pk).exists()
