from django.core.management.base import BaseCommand

from tenants.services import tenant_template_ensure


class Command(BaseCommand):
    help = "Create or migrate the template schema new tenants are cloned from (run after migrate_schemas)."

    def handle(self, *args, **options):
        changed = tenant_template_ensure(force=True)
        self.stdout.write("tenant template migrated" if changed else "tenant template up to date")
