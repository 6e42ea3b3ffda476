import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tenants", "0004_login_attempts")]

    operations = [
        migrations.AddIndex(
            model_name="tenant",
            index=models.Index(
                django.db.models.functions.text.Upper("schema_name"),
                name="tenants_tenant_schema_upper",
            ),
        ),
    ]
