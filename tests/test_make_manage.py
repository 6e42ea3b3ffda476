"""`make manage ARGS=...` (scripts/dev.py manage): a manage.py command on the services `make run`
uses. Configured variables win over the embedded servers, so here it runs on this session's test
database and Redis, and Stripe's configured key, and must reach them."""

import os
import subprocess
import sys

import pytest

from tests.reliability import conftest as live

pytestmark = pytest.mark.django_db


def test_make_manage_runs_a_command_on_the_configured_services():
    env = {
        **os.environ,
        "DATABASE_URL": live.test_database_url(),
        "STRIPE_API_KEY": "sk_test_" + "configured" * 3,
    }
    done = subprocess.run(
        [
            sys.executable,
            "scripts/dev.py",
            "manage",
            "shell",
            "-c",
            "from tenants.models import Tenant; print(sorted(Tenant.objects.values_list('slug', flat=True)))",
        ],
        cwd=live.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "['acme', 'globex']" in done.stdout, done.stdout[-2000:]
    assert "Stripe: using STRIPE_API_KEY as configured" in done.stdout


def test_make_manage_passes_a_failing_commands_exit_code_on():
    env = {
        **os.environ,
        "DATABASE_URL": live.test_database_url(),
        "STRIPE_API_KEY": "sk_test_" + "x" * 24,
    }
    done = subprocess.run(
        [
            sys.executable,
            "scripts/dev.py",
            "manage",
            "advance_clock",
            "--tenant",
            "no-such-tenant",
            "--days",
            "1",
        ],
        cwd=live.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
