"""Typed readers for environment variables.

Settings read every value through these helpers so that one place decides how
an empty or malformed variable is treated (empty counts as unset), and so that
the docker-compose consistency test can find every variable name settings use.
"""

import os

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    value = os.environ.get(name, "")
    return value if value != "" else default


def env_int(name: str, default: int) -> int:
    raw = env_str(name)
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_bool(name: str, default: bool = False) -> bool:
    raw = env_str(name).lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = env_str(name)
    if raw == "":
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_amounts(name: str) -> dict[str, int]:
    """Comma-separated `code:amount` pairs ("jpy:75000,kwd:150000"): lowercase code -> integer."""
    amounts = {}
    for item in env_list(name):
        code, separator, amount = item.partition(":")
        try:
            if not separator or not code.strip():
                raise ValueError(item)
            amounts[code.strip().lower()] = int(amount)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"{name} is comma-separated code:amount pairs (jpy:75000), got {item!r}"
            ) from exc
    return amounts
