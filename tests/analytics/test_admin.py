"""The admin's Finance overview: open to the staff groups, figures with drill-downs to the tenants
and invoices, CSV exports. Facts are written through the services (the scenarios test how events
make them)."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
from django.test import Client

from analytics.mrr import Snapshot
from analytics.services import invoice_fact_record, movement_apply

URL = "/admin/analytics/financeoverview/"


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


@pytest.fixture
def facts(tenant, other_tenant):
    def snap(status, mrr, plan="starter"):
        return Snapshot("sub_1", status, plan, "monthly", "usd", mrr)

    movement_apply(tenant=tenant, snapshot=snap("active", 2900), at=_at(date(2026, 1, 15)))
    movement_apply(tenant=other_tenant, snapshot=snap("active", 9900), at=_at(date(2026, 1, 20)))
    movement_apply(tenant=tenant, snapshot=snap("canceled", 0), at=_at(date(2026, 3, 15)))
    invoice_fact_record(
        tenant=other_tenant,
        invoice={
            "id": "in_overdue",
            "number": "GX-0001",
            "currency": "usd",
            "status": "open",
            "total": 9900,
            "amount_remaining": 9900,
            "status_transitions": {"finalized_at": int(_at(date(2026, 2, 20)).timestamp())},
            "due_date": int(_at(date(2026, 2, 20)).timestamp()),
        },
    )


def _staff_client(group: str):
    from django.contrib.auth.models import Group

    from tenants.models import User

    user = User.objects.create_user(
        email=f"{group}-fo@platform.test", password="x" * 12, is_staff=True
    )
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("group", ["finance", "support", "read_only"])
def test_every_staff_group_opens_the_overview(db, facts, group):
    page = _staff_client(group).get(URL, {"start": "2026-01-01", "end": "2026-04-30"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Finance overview" in body and "<svg" in body
    assert "128.00" in body  # January's MRR: 29.00 + 99.00
    assert "99.00" in body  # the ageing bucket of the overdue invoice


def test_staff_without_a_group_and_tenant_people_are_refused(db, facts, owner):
    from tenants.models import User

    bare = User.objects.create_user(email="bare@platform.test", password="x" * 12, is_staff=True)
    client = Client()
    client.force_login(bare)
    assert client.get(URL).status_code == 403
    client.force_login(owner)
    assert client.get(URL).status_code == 302  # not staff: the admin's login page


def test_churn_drills_down_to_the_tenant_and_exports_csv(db, facts, tenant):
    client = _staff_client("read_only")
    query = {"drill": "movements", "month": "2026-03", "currency": "usd", "kind": "churn"}
    page = client.get(URL, query)
    assert page.status_code == 200
    body = page.content.decode()
    assert f"/admin/tenants/tenant/{tenant.pk}/change/" in body and "-29.00" in body
    exported = client.get(URL, {**query, "export": "drill"})
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[1][0] == str(tenant) and rows[1][2:7] == [
        "churn",
        "29.00",
        "0.00",
        "-29.00",
        "starter",
    ]


def test_overdue_bucket_drills_down_to_the_invoice(db, facts):
    page = _staff_client("support").get(
        URL, {"drill": "receivables", "bucket": "31-60", "currency": "usd", "end": "2026-04-01"}
    )
    body = page.content.decode()
    assert page.status_code == 200 and "GX-0001" in body and "q=in_overdue" in body


def test_monthly_and_receivables_csv(db, facts):
    client = _staff_client("finance")
    monthly = client.get(URL, {"start": "2026-01-01", "end": "2026-03-31", "export": "monthly"})
    rows = list(csv.DictReader(io.StringIO(monthly.content.decode())))
    assert [(r["Month"], r["MRR"], r["Churned"], r["Logo churn"]) for r in rows] == [
        ("2026-01", "128.00", "0.00", "–"),
        ("2026-02", "128.00", "0.00", "0.00 %"),
        ("2026-03", "99.00", "-29.00", "50.00 %"),
    ]
    ageing = client.get(URL, {"end": "2026-04-01", "export": "receivables"})
    assert list(csv.reader(io.StringIO(ageing.content.decode())))[1] == [
        "usd",
        "2026-04-01",
        "0.00",
        "0.00",
        "99.00",
        "0.00",
        "0.00",
    ]


def test_bad_drill_parameters_are_400(db, facts):
    client = _staff_client("finance")
    assert (
        client.get(URL, {"drill": "movements", "month": "nope", "currency": "usd"}).status_code
        == 400
    )
    assert (
        client.get(URL, {"drill": "receivables", "bucket": "x", "currency": "usd"}).status_code
        == 400
    )
    assert client.get(URL, {"start": "garbage"}).status_code == 200  # the default range instead
