"""`@tenant_task`: every tenant Celery task gets its tenant's row the same way, and does nothing
when sent from the public schema."""

import pytest
from django_tenants.utils import schema_context, tenant_context

from billing_project.tasks import current_tenant, tenant_task

pytestmark = pytest.mark.django_db
seen = []


@tenant_task
def _record(tenant, value):
    seen.append((tenant.slug, value))
    return value


@tenant_task(bind=True)
def _record_bound(self, tenant, *, value):
    seen.append((tenant.slug, value, self.name))


@pytest.fixture(autouse=True)
def _clear():
    seen.clear()


def test_the_task_gets_the_tenant_row_of_its_schema(tenant):
    with tenant_context(tenant):
        assert _record.apply(args=["a"]).get() == "a"
    with schema_context(tenant.schema_name):  # a stand-in tenant on the connection: the row is read
        _record_bound.apply(kwargs={"value": "b"})
    assert seen == [("acme", "a"), ("acme", "b", _record_bound.name)]


def test_sent_from_public_the_task_does_nothing(tenant):
    assert current_tenant() is None
    assert _record.apply(args=["a"]).get() is None
    assert seen == []


def test_delay_checks_the_arguments_without_the_tenant():
    with pytest.raises(TypeError):
        _record.delay()  # `value` is missing: the tenant is not the caller's to send
    with pytest.raises(TypeError):
        _record.delay("a", "b")


def test_every_tenant_task_of_the_product_uses_the_decorator():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    plain = []
    for app in ("invoicing", "notifications", "usage"):
        for node in ast.walk(ast.parse((root / app / "tasks.py").read_text())):
            if isinstance(node, ast.FunctionDef):
                names = {
                    getattr(d.func if isinstance(d, ast.Call) else d, "id", None)
                    for d in node.decorator_list
                }
                if "shared_task" in names:
                    plain.append(f"{app}.{node.name}")
    assert plain == []
