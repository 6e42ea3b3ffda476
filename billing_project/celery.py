"""The Celery app. tenant-schemas-celery carries the schema in every task: a task sent while a
tenant's schema is active runs in that schema; a task sent from public runs in public."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_project.settings")

from celery.schedules import crontab  # noqa: E402
from tenant_schemas_celery.app import CeleryApp  # noqa: E402


class BillingCeleryApp(CeleryApp):
    pass


app = BillingCeleryApp("billing_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic tasks. Entries without `tenant_schemas` run once in every tenant's schema
# (tenant_schemas_celery's TenantAwareDatabaseScheduler); `"tenant_schemas": ["public"]` runs once, in
# public (billing_project.beat).
app.conf.beat_schedule = {
    **(app.conf.beat_schedule or {}),
    # notifications: trial-ending backstop and cards expiring (daily), lost delivery tasks (5 min)
    "notifications-daily-checks": {
        "task": "notifications.tasks.notifications_daily_checks",
        "schedule": crontab(hour=7, minute=0),
    },
    "notifications-retry-sweep": {
        "task": "notifications.tasks.notifications_retry_sweep",
        "schedule": 300.0,
    },
    # webhooks: due retries and deliveries whose task was lost; events past their retention (1 min)
    "webhooks-sweep": {"task": "webhooks.tasks.webhooks_sweep", "schedule": 60.0},
    # usage: unsent metered usage to Stripe meter events (idempotent, so a missed or double run is harmless)
    "usage-meter-push": {"task": "usage.tasks.usage_meter_push", "schedule": 300.0},
    # usage: NetBox/Odoo collectors whose interval has passed (each collector sets its own interval)
    "usage-collectors": {"task": "usage.tasks.usage_collectors_run_due", "schedule": 60.0},
    # usage: this month's and the next months' event partitions exist (idempotent; a catalog read)
    "usage-partitions-ensure": {
        "task": "usage.tasks.usage_partitions_ensure",
        "schedule": 3600.0,
    },
    # invoicing: due payment retries of the dunning schedule (hourly) and overdue invoices (daily)
    "invoicing-dunning-run-due": {
        "task": "invoicing.tasks.dunning_run_due_for_tenant",
        "schedule": 3600.0,
    },
    "invoicing-mark-overdue": {
        "task": "invoicing.tasks.invoices_mark_overdue_for_tenant",
        "schedule": crontab(hour=6, minute=0),
    },
    # credits: expired grants' rest removed, unposted Stripe balance moves retried (idempotent)
    "credits-expire-due": {"task": "credits.tasks.credits_expire_due", "schedule": 300.0},
    # budgets: alerts at 50/80/100% once per period, the hard cap set or lifted (also a new period)
    "budgets-check": {"task": "budgets.tasks.budget_check", "schedule": 300.0},
    # commitments: usage charges that reached the billing threshold invoiced (idempotent per crossing)
    "commitments-threshold-check": {
        "task": "commitments.tasks.usage_threshold_check",
        "schedule": 300.0,
    },
    # subscriptions: the subscription and MRR gauges of /metrics, once (public schema), every minute
    "subscriptions-metrics-refresh": {
        "task": "subscriptions.tasks.subscription_metrics_refresh",
        "schedule": 60.0,
        "tenant_schemas": ["public"],
    },
    # analytics: MRR and this month's movements per currency from the finance facts (public, 1 min)
    "analytics-metrics-refresh": {
        "task": "analytics.tasks.analytics_metrics_refresh",
        "schedule": 60.0,
        "tenant_schemas": ["public"],
    },
}
