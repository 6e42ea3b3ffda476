"""Provisioning: a tenant gets its row, domain, schema (cloned from the template) and owner."""

import re

import pytest
from django.core import mail
from django.db import connection
from django_tenants.utils import schema_context, schema_exists, tenant_context

from billing_project.api.exceptions import Conflict, InvalidRequest
from billing_project.tenant_migrations import applied_migrations, disk_migrations
from notifications.models import Notification
from tenants import services
from tenants.models import Membership, Tenant

pytestmark = pytest.mark.django_db(transaction=False)


def test_tenant_create_clones_a_fully_migrated_schema():
    tenant = services.tenant_create(name="Initech", slug="initech", email="Billing@Initech.test")

    assert tenant.schema_name == "t_initech"
    assert schema_exists("t_initech")
    assert tenant.email == "billing@initech.test"
    assert tenant.domains.get().domain == "initech.localhost"
    # The clone carries the template's migration records: the schema counts as migrated.
    tenant_keys, shared_keys = disk_migrations()
    assert tenant_keys | shared_keys <= applied_migrations("t_initech")
    with schema_context("t_initech"):
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM notifications_notification")
            assert cursor.fetchone()[0] == 0


def test_tenant_create_with_owner_password_makes_a_member_who_can_log_in():
    tenant = services.tenant_create(
        name="Hooli",
        slug="hooli",
        email="b@hooli.test",
        owner_email="ceo@hooli.test",
        owner_password="a-long-password-1",
    )
    membership = Membership.objects.get(tenant=tenant)
    assert membership.role == "owner"
    assert membership.user.check_password("a-long-password-1")
    assert mail.outbox == []


def test_tenant_create_without_owner_password_invites_by_email(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tenant = services.tenant_create(
            name="Vandelay",
            slug="vandelay",
            email="b@vandelay.test",
            owner_email="art@vandelay.test",
        )
    user = Membership.objects.get(tenant=tenant).user
    assert not user.has_usable_password()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["art@vandelay.test"]
    assert "/accounts/set-password/" in mail.outbox[0].body


@pytest.mark.parametrize(
    "slug", ["A", "ab", "-acme", "acme-", "ac me", "acme_corp", "public", "www", "x" * 51]
)
def test_invalid_slugs_are_rejected(slug):
    with pytest.raises(InvalidRequest):
        services.tenant_create(name="X", slug=slug, email="x@x.test")
    assert not Tenant.objects.filter(slug=slug.lower()).exists()


def test_duplicate_slug_is_a_conflict(tenant):
    with pytest.raises(Conflict) as exc:
        services.tenant_create(name="Another Acme", slug="acme", email="x@x.test")
    assert exc.value.code == "slug_taken"


def test_template_is_rebuilt_when_it_lacks_a_migration():
    with connection.cursor() as cursor:
        # Take one app's tables and migration records out of the template, as if it were new.
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'tenant_template' "
            "AND tablename LIKE 'notifications\\_%%'"
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f'DROP TABLE tenant_template."{table}" CASCADE')
        cursor.execute("DELETE FROM tenant_template.django_migrations WHERE app = 'notifications'")
    assert services.tenant_template_ensure(force=True) is True
    tenant_keys, _ = disk_migrations()
    assert tenant_keys <= applied_migrations("tenant_template")
    assert services.tenant_template_ensure(force=True) is False
    clone = services.tenant_create(name="After", slug="after-rebuild", email="a@a.test")
    with tenant_context(clone):
        assert Notification.objects.count() == 0


def _same_check(definition: str) -> str:
    """A constraint's text without casts and parentheses. PostgreSQL does not print an IN list the
    same way twice: a CHECK made from `IN ('a', 'b')` reads back as `(ARRAY['a'::character varying,
    ...])::text[]`, and the clone made from that text as `ARRAY[('a'::character varying)::text, ...]`,
    the same condition."""
    return re.sub(r"[()]", "", re.sub(r"::[a-z ]+(\[\])?", "", definition))


def _catalog(schema: str) -> dict:
    with connection.cursor() as cursor:
        # Put the connection's path back afterwards: the backend remembers which path it has.
        cursor.execute("SELECT current_setting('search_path')")
        previous = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('search_path', 'pg_catalog', false)")
        try:
            cursor.execute(
                "SELECT table_name, column_name, data_type, is_nullable, is_identity, column_default "
                "FROM information_schema.columns WHERE table_schema = %s ORDER BY 1, 2",
                [schema],
            )
            columns = cursor.fetchall()
            cursor.execute(
                "SELECT rel.relname, con.conname, pg_get_constraintdef(con.oid) FROM pg_constraint con "
                "JOIN pg_class rel ON rel.oid = con.conrelid WHERE con.connamespace = %s::regnamespace "
                "AND con.contype <> 'n' ORDER BY 1, 2",
                [schema],
            )
            constraints = [
                (t, n, _same_check(d.replace(f"{schema}.", "S."))) for t, n, d in cursor.fetchall()
            ]
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s ORDER BY 1",
                [schema],
            )
            indexes = [(n, d.replace(f"{schema}.", "S.")) for n, d in cursor.fetchall()]
        finally:
            cursor.execute("SELECT set_config('search_path', %s, false)", [previous])
    return {"columns": columns, "constraints": constraints, "indexes": indexes}


def test_clone_has_the_templates_exact_structure_and_names(tenant):
    template = _catalog("tenant_template")
    clone = _catalog(tenant.schema_name)
    assert template["columns"] and template["constraints"] and template["indexes"]
    assert clone == template


def test_clone_identity_sequences_are_its_own(tenant, other_tenant):
    with tenant_context(tenant):
        first = Notification.objects.create(kind="k", title="t")
        second = Notification.objects.create(kind="k", title="t")
    with tenant_context(other_tenant):
        Notification.objects.create(kind="k", title="t")
    with tenant_context(tenant):
        third = Notification.objects.create(kind="k", title="t")
    # Another tenant's insert did not advance this tenant's sequence.
    assert (second.pk, third.pk) == (first.pk + 1, first.pk + 2)
    with tenant_context(tenant):
        with connection.cursor() as cursor:
            cursor.execute("SELECT max(id) FROM django_migrations")
            last = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO django_migrations (app, name, applied) VALUES ('x', 'y', now()) RETURNING id"
            )
            assert cursor.fetchone()[0] == last + 1


def test_tenant_created_hooks_run_in_the_worker_not_the_signup(
    django_capture_on_commit_callbacks, monkeypatch
):
    from tenants import tasks
    from tenants.services import provisioning

    ran = []

    def failing(tenant):
        raise RuntimeError("Stripe is down")

    monkeypatch.setattr(
        provisioning, "TENANT_CREATED_HOOKS", [failing, lambda tenant: ran.append(tenant.slug)]
    )
    sent = []
    monkeypatch.setattr(tasks.tenant_created_hooks_run, "delay", lambda **kw: sent.append(kw))

    with django_capture_on_commit_callbacks(execute=True):
        tenant = services.tenant_create(name="Initech", slug="initech", email="b@initech.test")

    assert ran == []  # the signup did not wait for them
    assert sent == [{"tenant_id": str(tenant.pk)}]
    tasks.tenant_created_hooks_run(**sent[0])  # the worker's part
    assert ran == ["initech"]  # after a failing hook, the next one still ran
