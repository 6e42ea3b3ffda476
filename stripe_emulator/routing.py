"""Route table shared by the resource modules and the HTTP server."""

from __future__ import annotations

import re
from collections.abc import Callable

from .encoding import get_list

ROUTES: list[tuple[str, re.Pattern[str], Callable[..., object]]] = []


def route(method, pattern):
    """Register ``fn(ctx, **path_params)`` for e.g. ``("POST", "/v1/customers/{id}")``."""
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

    def decorator(fn):
        ROUTES.append((method, regex, fn))
        return fn

    return decorator


def match(method, path):
    """``(handler, path_params)`` for a request, ``(None, None)`` when no route matches.

    Routes are tried in registration order, so literal paths such as ``/v1/customers/search``
    are registered before ``/v1/customers/{id}``.
    """
    for m, regex, fn in ROUTES:
        if m == method:
            found = regex.match(path)
            if found:
                return fn, found.groupdict()
    return None, None


class Ctx:
    """What a handler sees: the state, the parsed params, and request metadata."""

    def __init__(self, state, method, path, params):
        self.state = state
        self.method = method
        self.path = path
        self.params = params

    @property
    def expand(self):
        return get_list(self.params, "expand")

    def out(self, obj):
        """Render a stored object for the response."""
        return self.state.render(obj)
