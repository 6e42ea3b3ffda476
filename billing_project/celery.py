"""The Celery app. tenant-schemas-celery carries the schema in every task: a task sent while a
tenant's schema is active runs in that schema; a task sent from public runs in public."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_project.settings")

from tenant_schemas_celery.app import CeleryApp  # noqa: E402


class BillingCeleryApp(CeleryApp):
    pass


app = BillingCeleryApp("billing_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
