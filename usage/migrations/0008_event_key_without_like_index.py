"""The event keys' primary key is only ever matched whole (`key = ANY(...)`): the second index
PostgreSQL's backend adds to a varchar primary key for LIKE (varchar_pattern_ops) cost one more
index write per keyed event on the ingest path and served no query."""

from django.db import migrations

LIKE_INDEX = "usage_usageeventkey_key_cbac92d8_like"


class Migration(migrations.Migration):
    dependencies = [
        ("usage", "0007_partition_usage_events"),
    ]

    operations = [
        migrations.RunSQL(
            f"DROP INDEX IF EXISTS {LIKE_INDEX}",
            reverse_sql=(
                f"CREATE INDEX IF NOT EXISTS {LIKE_INDEX} "
                "ON usage_usageeventkey (key varchar_pattern_ops)"
            ),
        ),
    ]
