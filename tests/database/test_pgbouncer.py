"""Behind PgBouncer in transaction pooling mode (issue 20): each transaction of a client may run on
another server connection, so a search path set on "the session" leaks to whoever runs next there.

Here PgBouncer (Debian's package; skipped with the reason where it is not installed) keeps ONE server
connection for every client (`default_pool_size = 1`), so two clients' statements always share it:
- two tenants' connections, interleaved, each read their own schema with DB_TRANSACTION_POOLING on,
  inside and outside transactions and across a schema switch and a rollback to a savepoint;
- with it off, the same interleaving reads the other tenant's schema (why the setting exists);
- a gunicorn server through PgBouncer answers both tenants' concurrent requests.
"""

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import requests
from django.db import connections

from billing_project.db_backend.base import DatabaseWrapper
from tests.conftest import DEMO_PASSWORD
from tests.reliability.conftest import _free_port, gunicorn_server
from tests.usage_restore import usage_restored

pytestmark = pytest.mark.django_db

PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None
)


@pytest.fixture(scope="module")
def pgbouncer():
    """A PgBouncer on a free port in front of 127.0.0.1:5432, transaction pooling, one server
    connection per database; yields its port."""
    if PGBOUNCER is None:
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer; .ci/run does)")
    # PgBouncer refuses to run as root: as root it runs as `nobody`, which must read its files.
    workdir = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    workdir.chmod(0o777)
    port = _free_port()
    ini = workdir / "pgbouncer.ini"
    ini.write_text(
        "[databases]\n"
        "* = host=127.0.0.1 port=5432 user=postgres\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\n"
        "auth_type = any\npool_mode = transaction\n"
        "default_pool_size = 1\nmin_pool_size = 0\nreserve_pool_size = 0\n"
        "max_client_conn = 100\nunix_socket_dir =\n"
        f"logfile = {workdir}/pgbouncer.log\npidfile = {workdir}/pgbouncer.pid\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
    )
    ini.chmod(0o644)
    command = [PGBOUNCER, str(ini)]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "nobody"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while True:
        try:
            psycopg.connect(
                f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=2
            ).close()
            break
        except psycopg.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log = (
                    (workdir / "pgbouncer.log").read_text(errors="replace")
                    if (workdir / "pgbouncer.log").exists()
                    else ""
                )
                pytest.fail(f"pgbouncer did not start: {process.stderr.read()!r} {log[-2000:]}")
            time.sleep(0.2)
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _through(port, alias) -> DatabaseWrapper:
    """A connection of this backend to the test database, through PgBouncer."""
    config = {**connections["default"].settings_dict, "HOST": "127.0.0.1", "PORT": str(port)}
    config["OPTIONS"] = {k: v for k, v in config["OPTIONS"].items() if k != "pool"}
    return DatabaseWrapper(config, alias=alias)


def _schema(wrapper) -> str:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return cursor.fetchone()[0]


@pytest.fixture
def two_clients(pgbouncer, tenant, other_tenant):
    first, second = _through(pgbouncer, "pgb-first"), _through(pgbouncer, "pgb-second")
    first.set_tenant(tenant)
    second.set_tenant(other_tenant)
    yield first, second
    first.close()
    second.close()


def test_interleaved_tenants_each_read_their_own_schema_with_transaction_pooling(
    settings, two_clients, tenant, other_tenant
):
    settings.DB_TRANSACTION_POOLING = True
    first, second = two_clients
    for _ in range(3):  # autocommit statements, alternating on the one server connection
        assert _schema(first) == tenant.schema_name
        assert _schema(second) == other_tenant.schema_name

    # In a transaction, with the other client's statements in between (on its own server
    # connection now: PgBouncer gives the first one the server connection for the transaction).
    first.set_autocommit(False)
    try:
        assert _schema(first) == tenant.schema_name
        first.set_schema_to_public()  # a schema switch inside the transaction
        assert _schema(first) == "public"
        first.set_tenant(tenant)
        sid = first.savepoint()
        assert _schema(first) == tenant.schema_name
        first.savepoint_rollback(sid)  # undoes a SET LOCAL made after the savepoint
        assert _schema(first) == tenant.schema_name
        first.commit()
    finally:
        first.set_autocommit(True)
    assert _schema(second) == other_tenant.schema_name
    assert _schema(first) == tenant.schema_name


def test_without_it_the_session_path_leaks_to_the_other_tenant(settings, two_clients, tenant):
    settings.DB_TRANSACTION_POOLING = False
    first, second = two_clients
    assert _schema(first) == tenant.schema_name  # SET search_path on the shared server connection
    _schema(second)  # ...and the other tenant's SET on the same server connection
    # This backend remembers that its session has the first tenant's path and sets nothing:
    # the statement runs with the second tenant's path.
    assert _schema(first) != tenant.schema_name


@pytest.fixture
def usage_of_both_restored():
    """The server commits both tenants' batches: their usage is put back after the test."""
    with usage_restored("acme", "globex") as prefixes:
        yield prefixes


@pytest.mark.live
def test_a_server_behind_pgbouncer_answers_both_tenants_concurrently(
    pgbouncer, tmp_path, tenant, other_tenant, usage_of_both_restored
):
    from tests.reliability.conftest import test_database_url

    url = test_database_url().replace("127.0.0.1:5432", f"127.0.0.1:{pgbouncer}")
    assert f":{pgbouncer}/" in url
    with gunicorn_server(
        tmp_path, workers=2, DATABASE_URL=url, DB_TRANSACTION_POOLING="1"
    ) as server:
        tokens = {}
        for email, slug in (("owner@acme.test", "acme"), ("owner@globex.test", "globex")):
            login = requests.post(
                server.url + "/api/v1/auth/login",
                json={"email": email, "password": DEMO_PASSWORD},
                timeout=60,
            )
            assert login.status_code == 200, login.text
            tokens[slug] = {"Authorization": f"Bearer {login.json()['access_token']}"}

        def api_calls(slug):
            summary = requests.get(
                server.url + "/api/v1/usage/summary", headers=tokens[slug], timeout=60
            ).json()
            return sum(Decimal(r["used"]) for r in summary if r["resource_type"] == "api_calls")

        before = {slug: api_calls(slug) for slug in tokens}
        run, at = uuid.uuid4().hex[:8], datetime.now(UTC).isoformat()
        usage_of_both_restored.append(f"{run}-")

        def call(slug, turn):
            answers = []
            # A batch is COPied (binary format) inside its transaction on whichever server
            # connection PgBouncer gives it: every event of each tenant counts once, in its schema.
            events = [
                {
                    "resource_type": "api_calls",
                    "quantity": 1,
                    "period_start": at,
                    "transaction_id": f"{run}-{turn}-{i}",
                }
                for i in range(20)
            ]
            batch = requests.post(
                server.url + "/api/v1/usage/batch",
                json={"events": events},
                headers=tokens[slug],
                timeout=60,
            )
            answers.append(("/api/v1/usage/batch", batch.status_code, batch.text[:200]))
            assert batch.json()["accepted"] == 20, batch.text[:300]
            for path in ("/api/v1/tenants/current", "/api/v1/usage/summary", "/api/v1/invoices"):
                answer = requests.get(server.url + path, headers=tokens[slug], timeout=60)
                answers.append((path, answer.status_code, answer.text[:200]))
                if path.endswith("current"):
                    assert answer.json()["slug"] == slug
            return answers

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(call, ["acme", "globex"] * 10, range(20)))
        after = {slug: api_calls(slug) for slug in tokens}
    failed = [a for answers in results for a in answers if a[1] != 200]
    assert not failed, failed[:5]
    assert {slug: after[slug] - before[slug] for slug in tokens} == {"acme": 200, "globex": 200}
