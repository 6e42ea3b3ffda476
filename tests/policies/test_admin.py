"""The billing policy: read without writing until finance edits it in the admin, each edit audited."""

import pytest

pytestmark = pytest.mark.django_db

POLICY = "/admin/policies/billingpolicy/"


def _form(**overrides):
    return {
        "retry_days": "[1, 3, 5, 7]",
        "hard_decline_codes": "[]",
        "end_state": "canceled",
        "refund_approval_threshold": "50000",
        "refund_approval_thresholds": "{}",
        "auto_charge_due_days": "7",
        "overdue_grace_days": "0",
        **overrides,
    }


def test_policy_get_reads_the_settings_defaults_without_writing(settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from policies.models import BillingPolicy
    from policies.selectors import policy_get

    settings.REFUND_APPROVAL_THRESHOLD = 12345
    with CaptureQueriesContext(connection) as queries:
        policy = policy_get()
    assert not [
        q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith(("SELECT", "SET"))
    ]
    assert policy.refund_approval_threshold == 12345 and policy._state.adding
    assert not BillingPolicy.objects.exists()


def test_editing_the_dunning_schedule_and_refund_threshold_writes_one_audit_row(
    finance_admin, settings
):
    from policies.models import BillingPolicy
    from policies.selectors import policy_get
    from tenants.models import AuditEvent

    settings.DUNNING_RETRY_DAYS, settings.REFUND_APPROVAL_THRESHOLD = [1, 3, 5, 7], 50000
    settings.DUNNING_HARD_DECLINE_CODES, settings.DUNNING_END_STATE = [], "canceled"
    settings.INVOICE_AUTO_CHARGE_DUE_DAYS, settings.INVOICE_OVERDUE_GRACE_DAYS = 7, 0
    page = finance_admin.get(POLICY + "add/").content.decode()
    assert "[1, 3, 5, 7]" in page  # the first edit starts from the policy in force
    response = finance_admin.post(
        POLICY + "add/", _form(retry_days="[2, 4]", refund_approval_threshold="20000")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    [audit] = AuditEvent.objects.filter(action="policy.update")
    assert audit.actor == "finance@platform.test"
    assert audit.before == {"retry_days": [1, 3, 5, 7], "refund_approval_threshold": 50000}
    assert audit.after == {"retry_days": [2, 4], "refund_approval_threshold": 20000}
    assert policy_get().retry_days == [2, 4]

    response = finance_admin.post(
        f"{POLICY}1/change/",
        _form(retry_days="[2, 4]", refund_approval_threshold="20000", end_state="unpaid"),
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="policy.update").count() == 2
    last = AuditEvent.objects.filter(action="policy.update").order_by("-created").first()
    assert (last.before, last.after) == ({"end_state": "canceled"}, {"end_state": "unpaid"})

    refused = finance_admin.post(f"{POLICY}1/change/", _form(retry_days="[3, 1]"))
    assert refused.status_code == 200 and "strictly increasing" in refused.content.decode()
    assert AuditEvent.objects.filter(action="policy.update").count() == 2
    assert BillingPolicy.objects.get().retry_days == [2, 4]


def test_currencies_get_refund_thresholds_of_their_own_and_a_bad_map_is_refused(finance_admin):
    from policies.models import BillingPolicy
    from policies.selectors import policy_get
    from tenants.models import AuditEvent

    response = finance_admin.post(
        POLICY + "add/", _form(refund_approval_thresholds='{"jpy": 75000, "kwd": 150000}')
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    [audit] = AuditEvent.objects.filter(action="policy.update")
    assert audit.before["refund_approval_thresholds"] == {}
    assert audit.after["refund_approval_thresholds"] == {"jpy": 75000, "kwd": 150000}
    policy = policy_get()
    assert [policy.refund_approval_threshold_of(c) for c in ("jpy", "KWD", "usd")] == [
        75000,
        150000,
        50000,  # no threshold of its own: the one above
    ]
    for bad in ('{"JPY": 1}', '{"yen": 1}', '{"jpy": -1}', '{"jpy": 1.5}', '{"jpy": "1"}', "[1]"):
        refused = finance_admin.post(f"{POLICY}1/change/", _form(refund_approval_thresholds=bad))
        assert refused.status_code == 200 and "lowercase ISO currency codes" in (
            refused.content.decode()
        ), bad
    assert BillingPolicy.objects.get().refund_approval_thresholds == {"jpy": 75000, "kwd": 150000}
    assert AuditEvent.objects.filter(action="policy.update").count() == 1


def test_the_per_currency_thresholds_setting_reads_code_amount_pairs(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from billing_project.env import env_amounts

    monkeypatch.setenv("REFUND_APPROVAL_THRESHOLDS", " JPY:75000, kwd:150000 ,")
    assert env_amounts("REFUND_APPROVAL_THRESHOLDS") == {"jpy": 75000, "kwd": 150000}
    monkeypatch.setenv("REFUND_APPROVAL_THRESHOLDS", "")
    assert env_amounts("REFUND_APPROVAL_THRESHOLDS") == {}
    for bad in ("jpy", "jpy:", ":5", "jpy:7.5"):
        monkeypatch.setenv("REFUND_APPROVAL_THRESHOLDS", bad)
        with pytest.raises(ImproperlyConfigured, match="code:amount"):
            env_amounts("REFUND_APPROVAL_THRESHOLDS")
