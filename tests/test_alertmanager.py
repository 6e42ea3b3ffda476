"""Alertmanager (docker-compose) routes every Prometheus alert rule to receivers that exist and reach
the team by email and Slack; its configuration, once rendered with the environment as its entrypoint
does, is complete."""

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "config" / "alertmanager" / "alertmanager.yml"
ENTRYPOINT = REPO / "config" / "alertmanager" / "entrypoint.sh"
ALERTS = REPO / "config" / "prometheus" / "alerts.yml"
PROMETHEUS = REPO / "config" / "prometheus" / "prometheus.yml"
COMPOSE = REPO / "docker-compose.yml"
PLACEHOLDER = re.compile(r"\$\{(ALERTMANAGER_\w+)\}")
MATCHER = re.compile(r'^\s*(\w+)\s*(=~|!~|!=|=)\s*"(.*)"\s*$')


def compose_service() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]["alertmanager"]


def rendered() -> dict:
    """The configuration as entrypoint.sh renders it with the docker-compose environment's defaults."""
    environment = compose_service()["environment"]
    defaults = {
        name: re.sub(r"^\$\{\w+:-(.*)\}$", r"\1", str(value)) for name, value in environment.items()
    }
    return yaml.safe_load(PLACEHOLDER.sub(lambda m: defaults[m.group(1)], CONFIG.read_text()))


def _matches(matchers: list[str], labels: dict) -> bool:
    for matcher in matchers:
        name, op, value = MATCHER.match(matcher).groups()
        actual = labels.get(name, "")
        ok = {
            "=": actual == value,
            "!=": actual != value,
            "=~": re.fullmatch(value, actual) is not None,
            "!~": re.fullmatch(value, actual) is None,
        }[op]
        if not ok:
            return False
    return True


def receivers_for(route: dict, labels: dict) -> list[str]:
    """Alertmanager's routing: the first matching child route (recursively), else this route's."""
    for child in route.get("routes", []):
        if _matches(child.get("matchers", []), labels):
            return receivers_for({"receiver": route["receiver"], **child}, labels)
    return [route["receiver"]]


def all_routes(route: dict):
    yield route
    for child in route.get("routes", []):
        yield from all_routes(child)


def test_every_placeholder_is_rendered_by_the_entrypoint_and_set_by_compose():
    placeholders = set(PLACEHOLDER.findall(CONFIG.read_text()))
    assert placeholders, "no ${ALERTMANAGER_...} placeholders found"
    script = ENTRYPOINT.read_text()
    assert placeholders <= set(re.findall(r"\bALERTMANAGER_\w+", script))
    assert placeholders <= set(compose_service()["environment"])


def test_every_route_names_an_existing_receiver():
    config = rendered()
    names = {receiver["name"] for receiver in config["receivers"]}
    for route in all_routes(config["route"]):
        if "receiver" in route:
            assert route["receiver"] in names, route


def test_every_alert_rule_reaches_email_and_slack():
    config = rendered()
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    rules = [
        rule
        for group in yaml.safe_load(ALERTS.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]
    assert "HighFailedPayments" in {rule["alert"] for rule in rules}
    for rule in rules:
        labels = {"alertname": rule["alert"], "service": "billing", **rule.get("labels", {})}
        for name in receivers_for(config["route"], labels):
            receiver = receivers[name]
            assert receiver.get("email_configs") and receiver["email_configs"][0]["to"], rule
            slack = receiver.get("slack_configs")
            assert slack and slack[0]["channel"] and config["global"]["slack_api_url"], rule


def test_prometheus_sends_its_alerts_to_the_compose_alertmanager():
    prometheus = yaml.safe_load(PROMETHEUS.read_text())
    targets = [
        target
        for manager in prometheus["alerting"]["alertmanagers"]
        for config in manager["static_configs"]
        for target in config["targets"]
    ]
    assert targets == ["alertmanager:9093"]
    mounts = compose_service()["volumes"]
    assert "./config/alertmanager/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro" in mounts
