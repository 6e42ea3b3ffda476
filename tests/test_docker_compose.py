"""Static checks of the production stack: docker-compose.yml, Dockerfile, the entrypoint script and
the nginx, Prometheus and Grafana configs under config/.

No Docker engine is needed (nor a database): the files are parsed and cross-checked against each
other and against the project (settings, management commands, WSGI and Celery apps).
"""

import fnmatch
import importlib
import ipaddress
import json
import os
import re
import runpy
import shlex
import subprocess
from contextlib import contextmanager
from functools import cache
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import django
import pytest
import yaml
from django.apps import apps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_project.settings")
if not apps.ready:
    django.setup()

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
ENTRYPOINT = REPO / "scripts" / "docker-entrypoint.sh"
ENV_EXAMPLE = REPO / ".env.example"
SETTINGS_FILE = REPO / "billing_project" / "settings.py"
NGINX_CONF = REPO / "config" / "nginx" / "nginx.conf"
PROMETHEUS_CONF = REPO / "config" / "prometheus" / "prometheus.yml"
GRAFANA_PROVISIONING = REPO / "config" / "grafana" / "provisioning"
GRAFANA_DASHBOARDS = REPO / "config" / "grafana" / "dashboards"

EXPECTED_SERVICES = {"postgres", "redis", "web", "worker", "beat", "nginx", "prometheus", "grafana"}
EXPECTED_DASHBOARDS = {"Billing Overview", "Subscriptions", "Revenue", "Usage"}
WEASYPRINT_PACKAGES = {
    "libpango-1.0-0",
    "libpangoft2-1.0-0",
    "libharfbuzz0b",
    "libffi8",
    "fonts-dejavu-core",
    "shared-mime-info",
}


# --- parsing helpers ------------------------------------------------------------------------------


@cache
def compose() -> dict:
    with COMPOSE_FILE.open() as f:
        return yaml.safe_load(f)


def services() -> dict:
    return compose()["services"]


def strings_in(node):
    """Every string (keys and values) of a parsed YAML document."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings_in(key)
            yield from strings_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings_in(item)


_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))")


def interpolated_vars(text: str) -> set[str]:
    """Names compose interpolates in a string (`$$` is a literal dollar, not interpolation)."""
    return {a or b for a, b in _VAR.findall(text.replace("$$", ""))}


def interpolate(text: str, values: dict[str, str]) -> str:
    def sub(match):
        name = match.group(1) or match.group(2)
        return values.get(name, "x")

    return _VAR.sub(sub, text.replace("$$", "$"))


@cache
def env_example() -> dict[str, str]:
    out = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            out[name.strip()] = value.strip()
    return out


def volume_mounts(service: dict) -> list[tuple[str, str]]:
    """(source, target) of a service's volumes, short or long syntax; source "" for anonymous ones."""
    mounts = []
    for entry in service.get("volumes", []):
        if isinstance(entry, dict):
            mounts.append((str(entry.get("source", "")), str(entry["target"])))
        else:
            parts = str(entry).split(":")
            if len(parts) == 1:
                mounts.append(("", parts[0]))
            else:
                mounts.append((parts[0], parts[1]))
    return mounts


def is_host_path(source: str) -> bool:
    return source.startswith((".", "/", "~"))


def repo_path(source: str) -> Path:
    assert source.startswith("./") or source == ".", (
        f"host path {source!r} is not relative to the repository"
    )
    return (REPO / source).resolve()


def host_path_for(service_name: str, container_path: str) -> Path | None:
    """The repository path bind-mounted at (or above) container_path in a service, or None."""
    best = None
    for source, target in volume_mounts(services()[service_name]):
        target = target.rstrip("/")
        if is_host_path(source) and (
            container_path == target or container_path.startswith(target + "/")
        ):
            if best is None or len(target) > len(best[1]):
                best = (source, target)
    if best is None:
        return None
    return repo_path(best[0]) / container_path[len(best[1]) :].lstrip("/")


def as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def depends_on_names(service: dict) -> list[str]:
    deps = service.get("depends_on", [])
    return list(deps) if isinstance(deps, (dict, list)) else [deps]


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


@cache
def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or not stripped:
            continue  # comments and blank lines, also inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current:
        lines.append(current)
    out = []
    for line in lines:
        instruction, _, args = line.partition(" ")
        out.append((instruction.upper(), args.strip()))
    return out


def dockerfile_values(instruction: str) -> list[str]:
    return [args for ins, args in dockerfile_instructions() if ins == instruction]


def exec_form(args: str) -> list[str]:
    args = args.strip()
    if args.startswith("["):
        return json.loads(args)
    return shlex.split(args)


def dockerfile_workdir() -> str:
    workdirs = dockerfile_values("WORKDIR")
    return workdirs[-1] if workdirs else "/"


def dockerfile_exposed_ports() -> set[int]:
    ports = set()
    for args in dockerfile_values("EXPOSE"):
        ports.update(int(p.split("/")[0]) for p in args.split())
    return ports


def dockerfile_env() -> dict[str, str]:
    env = {}
    for args in dockerfile_values("ENV"):
        for token in shlex.split(args):
            if "=" in token:
                key, value = token.split("=", 1)
                env[key] = value
    return env


def container_to_repo(path: str) -> Path | None:
    """A path inside the image that COPY . <WORKDIR> takes from the repository."""
    workdir = dockerfile_workdir().rstrip("/") + "/"
    if path.startswith(workdir):
        return REPO / path[len(workdir) :]
    if not path.startswith("/"):
        return REPO / path
    return None


@cache
def entrypoint_text() -> str:
    return ENTRYPOINT.read_text()


def entrypoint_logical_lines() -> list[str]:
    return [
        line.strip()
        for line in entrypoint_text().replace("\\\n", " ").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def shell_words(line: str) -> list[str]:
    """A shell line as words, ${VAR:-default} replaced by its default and "$@" dropped."""
    line = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", line)
    return [w for w in shlex.split(line) if w not in ("$@", "$*")]


def entrypoint_case_branches() -> set[str]:
    return set(re.findall(r"^\s+([\w|-]+)\)\s*$", entrypoint_text(), re.M))


def service_ports(name: str) -> set[int]:
    """Container ports a compose service listens on: expose, ports, and the image's EXPOSE."""
    service = services()[name]
    ports = set()
    for entry in as_list(service.get("expose")):
        ports.add(int(str(entry).split("/")[0]))
    for entry in as_list(service.get("ports")):
        if isinstance(entry, dict):
            ports.add(int(entry["target"]))
        else:
            ports.add(int(str(entry).split("/")[0].rsplit(":", 1)[-1]))
    if "build" in service:
        ports |= dockerfile_exposed_ports()
    return ports


def host_port(address: str, default: int) -> tuple[str, int]:
    parts = urlsplit(address if "://" in address else f"//{address}")
    return parts.hostname, parts.port or default


@cache
def nginx_conf() -> str:
    return re.sub(r"#[^\n]*", "", NGINX_CONF.read_text())


def nginx_proxy_targets() -> list[str]:
    conf = nginx_conf()
    variables = dict(re.findall(r"\bset\s+\$(\w+)\s+([^;\s]+)\s*;", conf))
    upstreams = {
        name: re.findall(r"\bserver\s+([^;\s]+)", body)
        for name, body in re.findall(r"\bupstream\s+(\w+)\s*\{([^}]*)\}", conf)
    }
    targets = []
    for value in re.findall(r"\bproxy_pass\s+([^;\s]+)\s*;", conf):
        if value.startswith("$"):
            assert value[1:] in variables, f"nginx: proxy_pass {value} but no `set {value} ...;`"
            value = variables[value[1:]]
        parts = urlsplit(value)
        if parts.hostname in upstreams:
            targets += upstreams[parts.hostname]
        else:
            targets.append(parts.netloc)
    return targets


@cache
def grafana_datasources() -> list[dict]:
    out = []
    for path in sorted((GRAFANA_PROVISIONING / "datasources").glob("*.y*ml")):
        out += yaml.safe_load(path.read_text()).get("datasources", [])
    return out


@cache
def grafana_dashboards() -> dict[Path, dict]:
    return {
        path: json.loads(path.read_text()) for path in sorted(GRAFANA_DASHBOARDS.glob("*.json"))
    }


def dashboard_panels(panels: list[dict]):
    for panel in panels:
        yield panel
        yield from dashboard_panels(panel.get("panels", []))


# --- docker-compose.yml -----------------------------------------------------------------------------


def test_compose_file_is_compose_spec_with_the_expected_services():
    data = compose()
    assert "version" not in data, "docker-compose.yml: drop the obsolete top-level `version:` key"
    missing = EXPECTED_SERVICES - set(data.get("services", {}))
    assert not missing, f"docker-compose.yml: services missing: {sorted(missing)}"


def test_every_service_has_an_image_or_a_build():
    bad = [name for name, svc in services().items() if not (svc.get("image") or svc.get("build"))]
    assert not bad, f"services without `image` or `build`: {bad}"


def test_images_pin_major_versions():
    for name, svc in services().items():
        image = svc.get("image")
        if not image:
            continue
        tag = image.rpartition(":")[2] if ":" in image.split("/")[-1] else ""
        if "build" in svc:
            continue  # built locally from this repository; the tag just names the build
        assert tag and tag != "latest", f"service {name}: image {image!r} has no pinned tag"
        assert re.match(r"v?\d", tag), f"service {name}: image {image!r} does not pin a version"
    assert services()["postgres"]["image"].startswith("postgres:16"), (
        "postgres must run postgres:16"
    )
    assert services()["redis"]["image"].startswith("redis:7"), "redis must run redis:7"
    assert services()["nginx"]["image"].startswith("nginx:1."), "nginx must pin nginx 1.x"


def test_app_services_share_one_image_built_from_the_repository():
    for name in ("web", "worker", "beat"):
        svc = services()[name]
        build = svc.get("build")
        context = build if isinstance(build, str) else (build or {}).get("context")
        assert context in (".", "./"), (
            f"service {name}: must be built from the repository root, got {build!r}"
        )
    images = {services()[name].get("image") for name in ("web", "worker", "beat")}
    assert len(images) == 1, f"web, worker and beat must share one image, got {images}"


def test_depends_on_names_existing_services():
    for name, svc in services().items():
        for dep in depends_on_names(svc):
            assert dep in services(), f"service {name}: depends_on {dep!r}, which is not a service"
            assert dep != name, f"service {name}: depends on itself"


def test_app_services_wait_for_healthy_database_and_redis():
    for name in ("web", "worker", "beat"):
        deps = services()[name].get("depends_on", {})
        for dep in ("postgres", "redis"):
            assert (
                isinstance(deps, dict) and deps.get(dep, {}).get("condition") == "service_healthy"
            ), f"service {name}: must depend on {dep} with condition service_healthy"


def test_named_volumes_are_declared():
    declared = set(compose().get("volumes") or {})
    for name, svc in services().items():
        for source, target in volume_mounts(svc):
            if source and not is_host_path(source):
                assert source in declared, (
                    f"service {name}: volume {source!r} (at {target}) is not declared "
                    f"under the top-level `volumes:`"
                )


def test_host_paths_mounted_exist_in_the_repository():
    for name, svc in services().items():
        for source, target in volume_mounts(svc):
            if is_host_path(source):
                path = repo_path(source)
                assert path.exists(), (
                    f"service {name}: mounts {source} at {target}, but {path} does not exist"
                )


def test_every_service_has_a_healthcheck_and_restarts():
    for name, svc in services().items():
        check = svc.get("healthcheck")
        assert check and not check.get("disable") and check.get("test"), (
            f"service {name}: no healthcheck"
        )
        assert svc.get("restart") == "unless-stopped", (
            f"service {name}: restart must be unless-stopped"
        )


def test_web_healthcheck_hits_health_endpoint_without_curl():
    test = " ".join(as_list(services()["web"]["healthcheck"]["test"]))
    assert re.search(r"http://localhost:8000/health/?(?![\w.-])", test), (
        "web healthcheck must request http://localhost:8000/health"
    )
    assert "urllib" in test and "curl" not in test, (
        "web healthcheck must use python urllib (slim has no curl)"
    )


def test_published_ports():
    expected = {"nginx": "80:80", "prometheus": "9091:9090", "grafana": "3001:3000"}
    for name, mapping in expected.items():
        ports = [str(p) for p in as_list(services()[name].get("ports"))]
        assert any(p == mapping or p.endswith(":" + mapping) for p in ports), (
            f"service {name}: must publish {mapping}, has {ports}"
        )


def test_compose_variables_are_defined_in_env_example():
    used = set()
    for text in strings_in(compose()):
        used |= interpolated_vars(text)
    missing = sorted(used - set(env_example()))
    assert not missing, (
        f"docker-compose.yml interpolates variables missing from .env.example: {missing}"
    )


def test_env_example_variables_are_read_by_settings_or_compose():
    settings_text = SETTINGS_FILE.read_text()
    compose_vars = set()
    for text in strings_in(compose()):
        compose_vars |= interpolated_vars(text)
    unused = [
        name
        for name in env_example()
        if f'"{name}"' not in settings_text and name not in compose_vars
    ]
    assert not unused, (
        f'.env.example variables neither read by billing_project/settings.py (env_*("NAME")) '
        f"nor used by docker-compose.yml: {unused}"
    )


def test_env_file_is_documented_by_env_example():
    for name, svc in services().items():
        for entry in as_list(svc.get("env_file")):
            path = entry["path"] if isinstance(entry, dict) else entry
            assert path in (".env", "./.env"), f"service {name}: unexpected env_file {path!r}"
            assert ENV_EXAMPLE.exists(), (
                f"service {name}: env_file {path} has no .env.example to copy from"
            )


def test_app_urls_point_at_compose_services():
    values = dict(env_example())
    pg = environment(services()["postgres"])
    for name in ("web", "worker", "beat"):
        env = environment(services()[name])
        db = urlsplit(interpolate(env.get("DATABASE_URL", ""), values))
        assert db.hostname == "postgres" and (db.port or 5432) == 5432, (
            f"service {name}: DATABASE_URL must point at postgres:5432, got {db.netloc!r}"
        )
        assert db.username == pg["POSTGRES_USER"] and db.path.lstrip("/") == pg["POSTGRES_DB"], (
            f"service {name}: DATABASE_URL user/database differ from the postgres service's POSTGRES_USER/DB"
        )
        assert "POSTGRES_PASSWORD" in interpolated_vars(env["DATABASE_URL"]), (
            f"service {name}: DATABASE_URL must use ${{POSTGRES_PASSWORD}}"
        )
        redis_url = urlsplit(interpolate(env.get("REDIS_URL", ""), values))
        assert redis_url.hostname == "redis" and (redis_url.port or 6379) == 6379, (
            f"service {name}: REDIS_URL must point at redis:6379, got {redis_url.netloc!r}"
        )
        assert "REDIS_PASSWORD" in interpolated_vars(env["REDIS_URL"]), (
            f"service {name}: REDIS_URL must use ${{REDIS_PASSWORD}}"
        )
    redis_command = " ".join(as_list(services()["redis"].get("command")))
    assert "--requirepass" in redis_command and "REDIS_PASSWORD" in interpolated_vars(
        redis_command
    ), "redis must run with --requirepass ${REDIS_PASSWORD}"


def test_media_root_is_a_volume_of_web():
    media_root = environment(services()["web"]).get("MEDIA_ROOT") or dockerfile_env().get(
        "MEDIA_ROOT"
    )
    assert media_root, "MEDIA_ROOT is set neither by the web service nor by the Dockerfile"
    targets = {target.rstrip("/") for source, target in volume_mounts(services()["web"]) if source}
    assert media_root.rstrip("/") in targets, f"web: MEDIA_ROOT {media_root} is not on a volume"


# --- entrypoint ------------------------------------------------------------------------------------------


def test_entrypoint_is_valid_strict_bash():
    text = entrypoint_text()
    assert text.startswith("#!") and "bash" in text.splitlines()[0], (
        "entrypoint: needs a bash shebang"
    )
    assert re.search(r"^set -euo pipefail", text, re.M), "entrypoint: needs `set -euo pipefail`"
    assert os.access(ENTRYPOINT, os.X_OK), f"{ENTRYPOINT.relative_to(REPO)} is not executable"
    result = subprocess.run(["bash", "-n", str(ENTRYPOINT)], capture_output=True, text=True)
    assert result.returncode == 0, f"entrypoint: bash syntax error: {result.stderr}"


def test_entrypoint_handles_the_compose_commands():
    branches = set()
    for branch in entrypoint_case_branches():
        branches |= set(branch.split("|"))
    for name in ("web", "worker", "beat"):
        command = as_list(services()[name].get("command"))
        assert command, f"service {name}: no command for the entrypoint"
        assert command[0] in branches, f"service {name}: entrypoint has no `{command[0]})` branch"
    assert "*" in branches or "*)" in entrypoint_text(), (
        "entrypoint: other commands must be exec'ed as is"
    )


def test_entrypoint_web_migrates_then_serves():
    text = entrypoint_text()
    order = [
        "migrate_schemas --executor=parallel --noinput",
        "ensure_tenant_template",
        "exec gunicorn",
    ]
    positions = [text.find(step) for step in order]
    assert all(p >= 0 for p in positions), f"entrypoint: web must run, in order: {order}"
    assert positions == sorted(positions), f"entrypoint: web must run, in order: {order}"


def _check_management_command(words: list[str], where: str):
    from django.core.management import get_commands, load_command_class

    index = words.index("manage.py")
    name, args = words[index + 1], words[index + 2 :]
    commands = get_commands()
    assert name in commands, f"{where}: `manage.py {name}` is not a management command"
    command = load_command_class(commands[name], name)
    parser = command.create_parser("manage.py", name)
    try:
        parser.parse_args(args)
    except (SystemExit, Exception) as exc:  # CommandParser raises CommandError outside the CLI
        pytest.fail(f"{where}: `manage.py {name} {' '.join(args)}` has invalid arguments: {exc}")


def test_entrypoint_management_commands_exist():
    lines = [line for line in entrypoint_logical_lines() if re.search(r"\bmanage\.py\s+\w", line)]
    assert lines, "entrypoint: runs no management command"
    for line in lines:
        _check_management_command(shell_words(line), f"entrypoint line {line!r}")


# Variables that change what gunicorn or its config file (config/gunicorn.conf.py) decide.
GUNICORN_ENV = (
    "GUNICORN_BIND",
    "WEB_CONCURRENCY",
    "PROMETHEUS_MULTIPROC_DIR",
    "GUNICORN_CMD_ARGS",
    "PORT",
)


@contextmanager
def gunicorn_environment(values: dict[str, str]):
    """os.environ with GUNICORN_ENV taken from values only (unset when values lacks one)."""
    saved = {name: os.environ.pop(name, None) for name in GUNICORN_ENV}
    os.environ.update({name: value for name, value in values.items() if name in GUNICORN_ENV})
    try:
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


def _check_gunicorn(words: list[str], where: str, environ: dict[str, str] | None = None):
    """gunicorn's settings for a command line run from the image's WORKDIR under environ: the --config
    file first, the command line on top (gunicorn's own order); checks the file and the WSGI target."""
    from gunicorn.config import Config

    args = words[words.index("gunicorn") + 1 :]
    cfg = Config()
    try:
        parsed = cfg.parser().parse_args(args)
    except SystemExit:
        pytest.fail(f"{where}: gunicorn does not accept the arguments {args}")
    with gunicorn_environment(environ or {}):
        if parsed.config:
            path = container_to_repo(parsed.config)
            assert path is not None and path.is_file(), (
                f"{where}: gunicorn config {parsed.config} is not a file of the repository"
            )
            assert not _dockerignored(path.relative_to(REPO).as_posix()), (
                f"{where}: gunicorn config {parsed.config} is excluded by .dockerignore"
            )
            for name, value in runpy.run_path(str(path)).items():
                if name in cfg.settings:
                    cfg.set(name, value)
        for name, value in vars(parsed).items():
            if value is not None and name != "args":
                cfg.set(name, value)
    targets = parsed.args or [cfg.wsgi_app]
    assert targets == ["billing_project.wsgi:application"], (
        f"{where}: gunicorn must serve billing_project.wsgi:application, got {targets}"
    )
    module_name, attr = targets[0].split(":")
    try:
        application = getattr(importlib.import_module(module_name), attr, None)
    except ImportError as exc:
        pytest.fail(f"{where}: gunicorn target {targets[0]} does not import: {exc}")
    assert callable(application), f"{where}: {targets[0]} is not a callable WSGI application"
    return cfg


def entrypoint_gunicorn_words() -> list[str]:
    lines = [line for line in entrypoint_logical_lines() if re.search(r"\bexec gunicorn\b", line)]
    assert len(lines) == 1, "entrypoint: web must `exec gunicorn` once"
    return shell_words(lines[0])


def test_entrypoint_gunicorn_target_imports():
    cfg = _check_gunicorn(entrypoint_gunicorn_words(), "entrypoint")
    assert cfg.bind == ["0.0.0.0:8000"], (
        f"entrypoint: gunicorn must bind 0.0.0.0:8000, got {cfg.bind}"
    )
    assert cfg.workers > 1, f"entrypoint: gunicorn runs {cfg.workers} worker(s) by default"
    five = _check_gunicorn(entrypoint_gunicorn_words(), "entrypoint", {"WEB_CONCURRENCY": "5"})
    assert five.workers == 5, "entrypoint: gunicorn workers must come from WEB_CONCURRENCY"


def test_web_metrics_add_up_over_its_gunicorn_workers():
    web = services()["web"]
    web_env = {
        **env_example(),
        **environment(web),
    }  # .env (the env_file), then compose's environment
    cfg = _check_gunicorn(entrypoint_gunicorn_words(), "entrypoint", web_env)
    assert cfg.child_exit.__module__ != "gunicorn.config", (
        "gunicorn config: needs a child_exit hook calling prometheus_client's multiprocess.mark_process_dead"
    )
    directory = web_env.get("PROMETHEUS_MULTIPROC_DIR", "")
    if cfg.workers > 1:
        assert directory, (
            f"web: gunicorn runs {cfg.workers} workers; without PROMETHEUS_MULTIPROC_DIR "
            f"/metrics shows only the worker that answers the scrape"
        )
    if directory:
        tmpfs = {str(entry).split(":")[0].rstrip("/") for entry in as_list(web.get("tmpfs"))}
        assert directory.rstrip("/") in tmpfs or directory.startswith("/tmp/"), (
            f"web: PROMETHEUS_MULTIPROC_DIR {directory} must be a tmpfs of web or under /tmp "
            f"(writable by the image's user, private to the container)"
        )
    for name in ("worker", "beat"):
        # Their processes would write metric files nothing creates, empties or scrapes.
        assert "PROMETHEUS_MULTIPROC_DIR" not in environment(services()[name]), (
            f"service {name}: serves no /metrics; PROMETHEUS_MULTIPROC_DIR belongs to web"
        )
    assert "PROMETHEUS_MULTIPROC_DIR" not in dockerfile_env(), (
        "Dockerfile: PROMETHEUS_MULTIPROC_DIR in the image would reach the celery processes too; set it on web"
    )


def test_entrypoint_celery_app_and_subcommands_exist():
    from celery.app.utils import find_app
    from celery.bin.celery import celery as celery_cli

    import billing_project

    assert hasattr(billing_project, "celery_app"), (
        "billing_project has no `celery_app` for `celery -A`"
    )
    lines = [line for line in entrypoint_logical_lines() if re.search(r"\bexec celery\b", line)]
    subcommands = set()
    for line in lines:
        words = shell_words(line)
        app_name = words[words.index("-A") + 1]
        try:
            app = find_app(app_name)
        except (ImportError, AttributeError) as exc:
            pytest.fail(f"entrypoint: `celery -A {app_name}` finds no Celery app: {exc!r}")
        assert app is billing_project.celery_app, (
            f"entrypoint: `celery -A {app_name}` does not find celery_app"
        )
        subcommand = words[words.index("-A") + 2]
        assert subcommand in celery_cli.commands, (
            f"entrypoint: `celery {subcommand}` is not a celery command"
        )
        subcommands.add(subcommand)
    assert subcommands == {"worker", "beat"}, (
        f"entrypoint: must start a celery worker and beat, got {subcommands}"
    )


def test_beat_scheduler_of_settings_imports():
    from celery.utils.imports import symbol_by_name
    from django.conf import settings

    scheduler = symbol_by_name(settings.CELERY_BEAT_SCHEDULER)
    assert scheduler is not None, (
        f"CELERY_BEAT_SCHEDULER {settings.CELERY_BEAT_SCHEDULER} does not import"
    )


# --- Dockerfile -----------------------------------------------------------------------------------------


def test_dockerfile_base_packages_and_user():
    froms = dockerfile_values("FROM")
    assert froms and froms[-1].split()[0] == "python:3.11-slim", (
        f"Dockerfile: base must be python:3.11-slim, {froms}"
    )
    runs = " ".join(dockerfile_values("RUN"))
    missing = sorted(p for p in WEASYPRINT_PACKAGES if p not in runs.split())
    assert not missing, f"Dockerfile: WeasyPrint packages not installed: {missing}"
    assert "pip install -r requirements.txt" in runs, (
        "Dockerfile: must `pip install -r requirements.txt`"
    )
    users = dockerfile_values("USER")
    assert users and users[-1].split(":")[0] not in ("root", "0"), (
        "Dockerfile: must run as a non-root USER"
    )
    assert 8000 in dockerfile_exposed_ports(), "Dockerfile: must EXPOSE 8000"


def test_dockerfile_collectstatic_at_build():
    runs = [args for args in dockerfile_values("RUN") if "collectstatic" in args]
    assert runs, "Dockerfile: must run collectstatic at build"
    words = shell_words(runs[0])
    assert any(w.startswith("SECRET_KEY=") for w in words) and any(
        w.startswith("DATABASE_URL=") for w in words
    ), "Dockerfile: collectstatic needs a dummy SECRET_KEY and DATABASE_URL"
    _check_management_command(words, "Dockerfile collectstatic")
    assert dockerfile_env().get("STATIC_ROOT"), "Dockerfile: set STATIC_ROOT (read by settings)"


def _dockerignored(relative: str) -> bool:
    ignored = False
    for pattern in DOCKERIGNORE.read_text().splitlines():
        pattern = pattern.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        parts = PurePosixPath(relative).parts
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if any(
            fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p, pattern.replace("**/", ""))
            for p in prefixes
        ):
            ignored = not negate
    return ignored


def test_dockerfile_cmd_and_entrypoint_reference_existing_files():
    entrypoints, cmds = dockerfile_values("ENTRYPOINT"), dockerfile_values("CMD")
    assert entrypoints and cmds, "Dockerfile: needs an ENTRYPOINT and a default CMD"
    for args in entrypoints[-1:] + cmds[-1:]:
        for word in exec_form(args):
            if "/" in word and not word.startswith("-") and ":" not in word:
                path = container_to_repo(word)
                if path is None:
                    continue  # a system path of the image
                assert path.exists(), f"Dockerfile: {word} is not in the repository ({path})"
                relative = str(path.relative_to(REPO))
                assert not _dockerignored(relative), (
                    f"Dockerfile: {word} is excluded by .dockerignore"
                )
    for name in ("web", "worker", "beat"):
        for word in as_list(services()[name].get("entrypoint")):
            path = container_to_repo(word)
            assert path is not None and path.exists(), (
                f"service {name}: entrypoint {word} not in the repository"
            )
    assert ENTRYPOINT.relative_to(REPO).as_posix() in " ".join(entrypoints[-1:]), (
        "Dockerfile: ENTRYPOINT must be scripts/docker-entrypoint.sh"
    )
    cmd = _check_gunicorn(exec_form(cmds[-1]), "Dockerfile CMD")
    web = _check_gunicorn(entrypoint_gunicorn_words(), "entrypoint")
    assert (cmd.config, cmd.bind, cmd.workers) == (web.config, web.bind, web.workers), (
        "Dockerfile CMD: gunicorn must run as the entrypoint's web does (the same config)"
    )


def test_dockerignore_keeps_secrets_and_local_files_out():
    for path in (".env", ".venv", ".git"):
        assert _dockerignored(path), f".dockerignore must exclude {path}"
    for path in (
        "requirements.txt",
        "manage.py",
        "billing_project/settings.py",
        "scripts/docker-entrypoint.sh",
        "static",
        "templates",
    ):
        assert not _dockerignored(path), f".dockerignore excludes {path}, which the image needs"


# --- nginx ----------------------------------------------------------------------------------------------


def test_nginx_config_is_mounted():
    assert host_path_for("nginx", "/etc/nginx/nginx.conf") == NGINX_CONF.resolve(), (
        "nginx: config/nginx/nginx.conf must be mounted at /etc/nginx/nginx.conf"
    )
    conf = nginx_conf()
    assert conf.count("{") == conf.count("}"), "nginx.conf: unbalanced braces"


def test_nginx_proxies_to_a_compose_service_port():
    targets = nginx_proxy_targets()
    assert targets, "nginx.conf: no proxy_pass"
    for target in targets:
        host, port = host_port(target, 80)
        assert host in services(), (
            f"nginx.conf: proxies to {host!r}, which is not a compose service"
        )
        assert port in service_ports(host), (
            f"nginx.conf: proxies to {host}:{port}, but service {host} exposes {sorted(service_ports(host))}"
        )
    assert "web" in depends_on_names(services()["nginx"]), "nginx must depend on web"


def test_nginx_passes_client_headers_and_serves_tenant_hosts():
    conf = nginx_conf()
    for header in ("Host", "X-Real-IP", "X-Forwarded-For"):
        assert re.search(rf"proxy_set_header\s+{header}\s", conf), (
            f"nginx.conf: does not pass {header}"
        )
    # billing_project.client_ip believes these from nginx: nginx must overwrite X-Real-IP and append its
    # peer to X-Forwarded-For, never pass the client's own values on as the last word
    assert re.search(r"proxy_set_header\s+X-Real-IP\s+\$remote_addr\s*;", conf), (
        "nginx.conf: X-Real-IP must be set to $remote_addr (the app trusts it for login throttling)"
    )
    assert re.search(
        r"proxy_set_header\s+X-Forwarded-For\s+\$(proxy_add_x_forwarded_for|remote_addr)\s*;", conf
    ), (
        "nginx.conf: X-Forwarded-For must end with $remote_addr (the app reads its rightmost untrusted hop)"
    )
    names = " ".join(re.findall(r"\bserver_name\s+([^;]+);", conf)).split()
    assert (
        any(n == "_" or n.startswith(("*.", ".", "~")) for n in names) or "default_server" in conf
    ), f"nginx.conf: server_name {names} does not accept tenant subdomains"


def test_web_believes_the_forwarding_headers_of_nginx_only():
    # Without TRUSTED_PROXIES covering nginx's address, every login behind nginx counts against nginx's
    # address (one client locks out everybody); with a public range in it, anyone could pick their IP.
    entries = [
        e for e in environment(services()["web"]).get("TRUSTED_PROXIES", "").split(",") if e.strip()
    ]
    trusted = [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries]
    assert trusted, "web: set TRUSTED_PROXIES to the compose network, where nginx is"
    for pool in (
        "172.17.0.0/16",
        "172.31.0.0/16",
        "192.168.0.0/20",
    ):  # Docker's default address pools
        assert any(
            ipaddress.ip_network(pool).subnet_of(network)
            for network in trusted
            if network.version == 4
        ), f"web: TRUSTED_PROXIES does not cover Docker's pool {pool}"
    assert all(network.is_private for network in trusted), (
        f"web: TRUSTED_PROXIES {entries} has public addresses"
    )


def test_nginx_static_files_come_from_the_web_static_root():
    conf = nginx_conf()
    match = re.search(r"location\s+/static/\s*\{([^}]*)\}", conf)
    assert match, "nginx.conf: no `location /static/`"
    alias = re.search(r"\b(?:alias|root)\s+([^;]+);", match.group(1))
    if alias is None:
        assert "proxy_pass" in match.group(1), (
            "nginx.conf: /static/ neither served from disk nor proxied"
        )
        return
    directory = alias.group(1).strip().rstrip("/")
    nginx_volume = next(
        (
            s
            for s, t in volume_mounts(services()["nginx"])
            if directory == t.rstrip("/") or directory.startswith(t.rstrip("/") + "/")
        ),
        None,
    )
    assert nginx_volume and not is_host_path(nginx_volume), (
        f"nginx.conf: /static/ is served from {directory}, which is not on a named volume of nginx"
    )
    static_root = environment(services()["web"]).get("STATIC_ROOT") or dockerfile_env().get(
        "STATIC_ROOT"
    )
    web_volume = next(
        (
            s
            for s, t in volume_mounts(services()["web"])
            if t.rstrip("/") == static_root.rstrip("/")
        ),
        None,
    )
    assert web_volume == nginx_volume, (
        f"nginx serves /static/ from volume {nginx_volume!r}, web's STATIC_ROOT {static_root} is on {web_volume!r}"
    )


# --- Prometheus -------------------------------------------------------------------------------------------


def test_prometheus_config_and_rules_are_mounted():
    config_in_container = "/etc/prometheus/prometheus.yml"
    assert host_path_for("prometheus", config_in_container) == PROMETHEUS_CONF.resolve(), (
        f"prometheus: config/prometheus/prometheus.yml must be mounted at {config_in_container}"
    )
    config = yaml.safe_load(PROMETHEUS_CONF.read_text())
    assert config.get("rule_files"), "prometheus.yml: no rule_files"
    for rule_file in config["rule_files"]:
        local = host_path_for("prometheus", rule_file)
        assert local is not None and local.exists(), (
            f"prometheus.yml: rule file {rule_file} is not mounted"
        )
        yaml.safe_load(local.read_text())


def test_prometheus_scrape_targets_are_compose_services():
    config = yaml.safe_load(PROMETHEUS_CONF.read_text())
    targets = [
        t
        for job in config.get("scrape_configs", [])
        for sc in job.get("static_configs", [])
        for t in sc.get("targets", [])
    ]
    assert targets, "prometheus.yml: no scrape targets"
    for target in targets:
        host, port = host_port(target, 80)
        assert host in services(), f"prometheus.yml: target {target} is not a compose service"
        assert port in service_ports(host), (
            f"prometheus.yml: target {target}: service {host} does not expose {port}"
        )
    assert any(host_port(t, 80)[0] == "web" for t in targets), "prometheus.yml: web is not scraped"


def test_high_failed_payments_alert():
    config = yaml.safe_load(PROMETHEUS_CONF.read_text())
    rules = []
    for rule_file in config["rule_files"]:
        for group in yaml.safe_load(host_path_for("prometheus", rule_file).read_text()).get(
            "groups", []
        ):
            rules += group.get("rules", [])
    alerts = {rule.get("alert"): rule for rule in rules}
    assert "HighFailedPayments" in alerts, (
        f"alert rules: HighFailedPayments missing, have {sorted(alerts)}"
    )
    expr = " ".join(str(alerts["HighFailedPayments"]["expr"]).split())
    assert expr == 'rate(billing_payments_total{status="failed"}[5m]) > 0.1', (
        f"HighFailedPayments expr: {expr}"
    )
    for name, rule in alerts.items():
        assert rule.get("expr"), f"alert {name}: no expr"


# --- Grafana --------------------------------------------------------------------------------------------------


def test_grafana_provisioning_is_mounted():
    local = host_path_for("grafana", "/etc/grafana/provisioning")
    assert local == GRAFANA_PROVISIONING.resolve(), (
        "grafana: config/grafana/provisioning must be mounted at /etc/grafana/provisioning"
    )
    password = environment(services()["grafana"]).get("GF_SECURITY_ADMIN_PASSWORD", "")
    assert interpolated_vars(password) == {"GRAFANA_ADMIN_PASSWORD"}, (
        "grafana: GF_SECURITY_ADMIN_PASSWORD must come from ${GRAFANA_ADMIN_PASSWORD}"
    )


def test_grafana_datasource_is_the_prometheus_service():
    datasources = grafana_datasources()
    assert datasources, "grafana provisioning: no datasource"
    for ds in datasources:
        assert ds.get("type") == "prometheus", (
            f"grafana datasource {ds.get('name')}: not a prometheus datasource"
        )
        host, port = host_port(ds["url"], 80)
        assert host in services(), (
            f"grafana datasource {ds.get('name')}: {ds['url']} is not a compose service"
        )
        assert port in service_ports(host), (
            f"grafana datasource {ds.get('name')}: {host} does not expose {port}"
        )


def test_grafana_dashboard_provider_points_at_mounted_dashboards():
    providers = []
    for path in sorted((GRAFANA_PROVISIONING / "dashboards").glob("*.y*ml")):
        providers += yaml.safe_load(path.read_text()).get("providers", [])
    assert providers, "grafana provisioning: no dashboards provider"
    for provider in providers:
        container_path = provider["options"]["path"]
        local = host_path_for("grafana", container_path)
        assert local is not None, (
            f"grafana provider {provider.get('name')}: {container_path} is not mounted"
        )
        assert local == GRAFANA_DASHBOARDS.resolve(), (
            f"grafana provider {provider.get('name')}: {container_path} is {local}, not config/grafana/dashboards"
        )


def test_grafana_dashboards_have_panels_on_billing_metrics():
    dashboards = grafana_dashboards()
    titles = {board.get("title") for board in dashboards.values()}
    assert EXPECTED_DASHBOARDS <= titles, (
        f"grafana dashboards missing: {sorted(EXPECTED_DASHBOARDS - titles)}"
    )
    uids = [board.get("uid") for board in dashboards.values()]
    assert len(uids) == len(set(uids)) and all(uids), (
        f"grafana dashboards: uids missing or repeated: {uids}"
    )
    datasource_uids = {ds.get("uid") for ds in grafana_datasources()}
    for path, board in dashboards.items():
        assert board.get("title"), f"{path.name}: no title"
        panels = list(dashboard_panels(board.get("panels", [])))
        assert panels, f"{path.name}: no panels"
        billing_panels = 0
        for panel in panels:
            exprs = [t.get("expr", "") for t in panel.get("targets", [])]
            for expr in exprs:
                assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"), (
                    f"{path.name}: panel {panel.get('title')!r}: unbalanced expr {expr!r}"
                )
            for ref in [panel.get("datasource")] + [
                t.get("datasource") for t in panel.get("targets", [])
            ]:
                if isinstance(ref, dict) and ref.get("uid") and not ref["uid"].startswith("$"):
                    assert ref["uid"] in datasource_uids, (
                        f"{path.name}: panel {panel.get('title')!r} uses datasource uid {ref['uid']!r}, "
                        f"provisioned: {sorted(datasource_uids)}"
                    )
            if any(re.search(r"\bbilling_\w+", expr) for expr in exprs):
                billing_panels += 1
        assert billing_panels, f"{path.name}: no panel queries a billing_ metric"


# --- several nodes (issue 20) ------------------------------------------------------------------------------


def test_web_and_worker_scale_to_several_replicas():
    # `docker compose up --scale web=3 --scale worker=4`: a fixed container name or host port would make
    # the second replica fail to start.
    for name in ("web", "worker", "beat"):
        service = services()[name]
        assert "container_name" not in service, f"{name}: container_name prevents --scale"
        for entry in as_list(service.get("ports")):
            published = entry.get("published") if isinstance(entry, dict) else None
            text = str(entry)
            fixed = published or (text.count(":") >= 1 and not text.startswith(":"))
            assert not fixed, f"{name}: host port {entry} prevents --scale"


def test_nginx_spreads_requests_over_every_web_replica():
    conf = nginx_conf()
    upstreams = dict(re.findall(r"\bupstream\s+(\w+)\s*\{([^}]*)\}", conf))
    web = [
        body
        for body in upstreams.values()
        if re.search(r"\bserver\s+web:8000\b[^;]*\bresolve\b", body)
    ]
    assert web, "nginx.conf: an upstream `server web:8000 resolve` (every replica, re-resolved)"
    assert re.search(r"\bzone\s+\w+", web[0]), "nginx.conf: `resolve` needs a shared `zone`"
    assert re.search(r"\bresolver\s+127\.0\.0\.11\b", conf), "nginx.conf: Docker's DNS resolver"
    assert all(host_port(target, 80)[0] == "web" for target in nginx_proxy_targets())


def _seconds(text) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", str(text))
    assert match, f"duration {text!r}"
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


def test_sigterm_is_given_time_to_drain():
    # Docker's default 10 s before SIGKILL would cut gunicorn's graceful stop (30 s) and Celery's
    # warm shutdown (the running task) short.
    assert _seconds(services()["web"].get("stop_grace_period", "10s")) > 30
    assert _seconds(services()["worker"].get("stop_grace_period", "10s")) >= 60
    test = " ".join(as_list(services()["web"]["healthcheck"]["test"]))
    assert "/health/ready" in test, "web healthcheck: /health/ready (pending migrations, database)"


# --- PgBouncer (docker-compose.pgbouncer.yml) -----------------------------------------------------


def _pooled() -> dict:
    return yaml.safe_load((REPO / "docker-compose.pgbouncer.yml").read_text())


def test_pgbouncer_override_puts_the_app_behind_transaction_pooling_and_migrates_directly():
    values = dict(env_example())
    pooled = _pooled()["services"]
    bouncer = pooled["pgbouncer"]
    assert re.search(r":v?\d+\.\d+", bouncer["image"]), "pin PgBouncer's version"
    settings_of = environment(bouncer)
    assert settings_of["POOL_MODE"] == "transaction" and settings_of["DB_HOST"] == "postgres"
    assert "healthcheck" in bouncer and bouncer.get("restart")
    port = int(settings_of["LISTEN_PORT"])
    for name in ("web", "worker", "beat"):
        assert name in services(), name
        env = environment(pooled[name])
        db = urlsplit(interpolate(env["DATABASE_URL"], values))
        assert (db.hostname, db.port) == ("pgbouncer", port), name
        assert env["DB_TRANSACTION_POOLING"] == "1", name
        direct = urlsplit(interpolate(env["MIGRATION_DATABASE_URL"], values))
        assert (direct.hostname, direct.port or 5432) == ("postgres", 5432), name
        assert pooled[name]["depends_on"]["pgbouncer"]["condition"] == "service_healthy"
    # ...and web's entrypoint migrates through MIGRATION_DATABASE_URL, without the pooling mode.
    text = entrypoint_text()
    for step in ("migrate_schemas", "ensure_tenant_template"):
        line = next(
            chunk
            for chunk in text.split("python scripts/with_advisory_lock.py")[1:]
            if step in chunk
        )
        before = text[: text.find(line)].rsplit("\n", 2)[-2]
        assert 'DATABASE_URL="${MIGRATION_DATABASE_URL:-$DATABASE_URL}"' in before, step
        assert "DB_TRANSACTION_POOLING=0" in before, step
