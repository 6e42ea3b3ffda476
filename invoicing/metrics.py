"""Prometheus series of the invoicing app: billing_payments_total{status,currency}.

Payment attempts are recorded by web (pay now), the worker (dunning retries) and webhook handling
alike, so the count is kept in Redis and exported by web's /metrics (billing_project/business_metrics.py).
"""

from django.db import transaction

from billing_project.business_metrics import business_counter_inc

PAYMENTS = "billing_payments_total"


def payment_attempt_count(*, status: str, currency: str) -> None:
    """Count a newly recorded payment attempt (succeeded or failed) once its transaction commits: a
    rolled-back attempt is recorded (and counted) again by the retry, never twice."""
    labels = {"status": status, "currency": currency.lower()}
    transaction.on_commit(lambda: business_counter_inc(PAYMENTS, labels))
