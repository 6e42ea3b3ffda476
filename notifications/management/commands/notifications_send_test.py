"""Send a test notification to a tenant from the command line (same as the admin and the API)."""

from django.core.management.base import BaseCommand, CommandError

from notifications.services import notification_test_send
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Send a test notification to a tenant: manage.py notifications_send_test acme --channel email"

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="tenant slug")
        parser.add_argument(
            "--channel", action="append", choices=["email", "slack", "in_app"], dest="channels"
        )

    def handle(self, *args, tenant, channels, **options):
        found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"no tenant {tenant!r}")
        notification = notification_test_send(tenant=found, channels=channels, actor="command")
        self.stdout.write(f"test notification {notification.pk} queued for {found.slug}")
