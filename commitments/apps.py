from django.apps import AppConfig


class CommitmentsConfig(AppConfig):
    """Usage commitments: minimum spend per period (a true-up line on the renewal) and progressive
    billing (usage invoiced when it reaches an amount threshold). Public schema, every row names its
    tenant."""

    name = "commitments"
    verbose_name = "Commitments and progressive billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from commitments import handlers  # noqa: F401 -- registers the Stripe webhook handlers
