"""Stripe's wire conventions: nested form keys, typed params, expand, lists, search."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from .errors import invalid, missing_param

_KEY_PART = re.compile(r"\[([^\]]*)\]")


def parse_form(body):
    """Parse ``a[b][0][c]=v`` form/query text into nested dicts and lists.

    stripe-python always sends indexed arrays (``items[0][price]``), other clients send
    ``expand[]=x``; both become Python lists.
    """
    root = {}
    for raw_key, value in parse_qsl(body or "", keep_blank_values=True):
        head, _, rest = raw_key.partition("[")
        parts = [head] + (_KEY_PART.findall("[" + rest) if rest else [])
        _assign(root, parts, value)
    return _listify(root)


def _assign(node, parts, value):
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "":  # "expand[]": append
            part = str(len(node))
        if last:
            node[part] = value
        else:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child


def _listify(node):
    """Turn dicts whose keys are all 0..n-1 into lists, recursively."""
    if not isinstance(node, dict):
        return node
    node = {k: _listify(v) for k, v in node.items()}
    if node and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


# ---- typed parameter access -------------------------------------------------------------


def get_str(params, key, required=False, default=None):
    """A string parameter; 400 parameter_missing when required and absent."""
    value = params.get(key)
    if value is None or value == "":
        if required:
            raise missing_param(key)
        return default if value is None else value
    if not isinstance(value, str):
        raise invalid(f"Invalid string: {value!r}", param=key)
    return value


def get_int(params, key, required=False, default=None, param_name=None):
    """An integer parameter (Stripe rejects decimals where integers are expected)."""
    value = params.get(key)
    if value is None or value == "":
        if required:
            raise missing_param(param_name or key)
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {value}", param=param_name or key) from None


def get_bool(params, key, default=None):
    """A boolean parameter sent as "true"/"false"."""
    value = params.get(key)
    if value is None or value == "":
        return default
    if str(value).lower() in ("true", "1"):
        return True
    if str(value).lower() in ("false", "0"):
        return False
    raise invalid(f"Invalid boolean: {value}", param=key)


def get_list(params, key):
    """A list parameter (``key[0]=..`` or ``key[]=..``); a single value becomes a list."""
    value = params.get(key)
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return [value]


def apply_metadata(obj, params):
    """Merge ``metadata[...]``: an empty string unsets one key, ``metadata=""`` clears all."""
    if "metadata" not in params:
        return
    value = params["metadata"]
    if value == "":
        obj["metadata"] = {}
        return
    if not isinstance(value, dict):
        raise invalid("Invalid metadata: must be a hash", param="metadata")
    merged = dict(obj.get("metadata") or {})
    for key, val in value.items():
        if val == "":
            merged.pop(key, None)
        else:
            merged[key] = str(val)
    obj["metadata"] = merged


def strip_private(value):
    """Copy without the emulator's private ``_keys`` (Stripe fields never start with "_")."""
    if isinstance(value, dict):
        return {k: strip_private(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [strip_private(v) for v in value]
    return value


def diff(old, new):
    """``previous_attributes`` for an update event: old values of what changed, nested for hashes."""
    changed = {}
    for key in set(old) | set(new):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if isinstance(before, dict) and isinstance(after, dict) and "object" not in before:
            changed[key] = diff(before, after)
        else:
            changed[key] = before
    return changed


# ---- expand ------------------------------------------------------------------------------


def expand(obj, paths, resolve, include):
    """Apply ``expand[]`` paths to a rendered object in place and return it.

    ``resolve(id)`` returns the rendered object for an id (or None); ``include(obj, field)``
    computes includable fields that Stripe only sends when expanded (``invoice.payments``).
    Segments walk through lists, so ``data.customer`` expands every element of a list.
    """
    for path in paths:
        obj = _expand_path(obj, path.split("."), resolve, include)
    return obj


def _expand_path(node, segments, resolve, include):
    if isinstance(node, list):
        return [_expand_path(n, segments, resolve, include) for n in node]
    if not segments or not isinstance(node, dict):
        return node
    head, rest = segments[0], segments[1:]
    if head not in node:
        value = include(node, head)
        if value is None:
            return node
        node[head] = value
    value = node[head]
    if isinstance(value, str):
        resolved = resolve(value)
        if resolved is not None:
            value = resolved
    elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        value = [resolve(v) or v for v in value]  # e.g. subscription.discounts
    node[head] = _expand_path(value, rest, resolve, include)
    return node


# ---- lists -------------------------------------------------------------------------------


def created_filter(params, key="created"):
    """Predicate for ``created=ts`` or ``created[gt|gte|lt|lte]=ts`` filters."""
    spec = params.get(key)
    if spec is None or spec == "":
        return lambda ts: True
    if not isinstance(spec, dict):
        exact = get_int(params, key)
        return lambda ts: ts == exact
    bounds = {op: get_int(spec, op, param_name=f"{key}[{op}]") for op in ("gt", "gte", "lt", "lte")}
    checks = {
        "gt": lambda t, b: t > b,
        "gte": lambda t, b: t >= b,
        "lt": lambda t, b: t < b,
        "lte": lambda t, b: t <= b,
    }
    return lambda ts: all(checks[op](ts, b) for op, b in bounds.items() if b is not None)


def paginate(objects, params, url):
    """Cut a newest-first sequence into Stripe's list object.

    ``starting_after`` pages towards older objects, ``ending_before`` towards newer ones,
    returning the ``limit`` objects just before the cursor, still newest first.
    """
    limit = get_int(params, "limit", default=10)
    if limit < 1 or limit > 100:
        raise invalid("Invalid limit: must be between 1 and 100", param="limit")
    objects = list(objects)
    ids = [o.get("id") for o in objects]
    after, before = params.get("starting_after"), params.get("ending_before")
    if after:
        if after not in ids:
            raise invalid(
                f"No such object: '{after}'", param="starting_after", code="resource_missing"
            )
        rest = objects[ids.index(after) + 1 :]
        page, has_more = rest[:limit], len(rest) > limit
    elif before:
        if before not in ids:
            raise invalid(
                f"No such object: '{before}'", param="ending_before", code="resource_missing"
            )
        rest = objects[: ids.index(before)]
        page, has_more = rest[-limit:], len(rest) > limit
    else:
        page, has_more = objects[:limit], len(objects) > limit
    return {"object": "list", "data": page, "has_more": has_more, "url": url}


# ---- search ------------------------------------------------------------------------------

_CLAUSE = re.compile(
    r"""\s*(?P<field>metadata\[['"](?P<mkey>[^'"]+)['"]\]|[a-z_\.]+)\s*(?P<op>:|~|>=|<=|>|<)\s*"""
    r"""(?:'(?P<sq>[^']*)'|"(?P<dq>[^"]*)"|(?P<num>-?\d+)|(?P<null>null))\s*""",
)


def search_predicate(query):
    """Compile Stripe's search query language (``email:'x' AND metadata['k']:'v'``).

    Supports ``:`` (exact, case-insensitive), ``~`` (substring), numeric comparisons,
    and AND/OR (not mixed, as Stripe also refuses mixing them without parentheses).
    """
    if not query:
        raise invalid("Missing required param: query.", param="query", code="parameter_missing")
    joiner = "OR" if re.search(r"\sOR\s", query) else "AND"
    parts = re.split(rf"\s{joiner}\s", query)
    clauses = []
    for part in parts:
        match = _CLAUSE.fullmatch(part)
        if not match:
            raise invalid(f"Invalid search query: {query}", param="query")
        clauses.append(match.groupdict())

    def test(obj, clause):
        if clause["mkey"]:
            actual = (obj.get("metadata") or {}).get(clause["mkey"])
        else:
            actual = obj
            for seg in clause["field"].split("."):
                actual = actual.get(seg) if isinstance(actual, dict) else None
        op = clause["op"]
        if clause["null"]:
            return actual is None
        if clause["num"] is not None and op != ":" or op in (">", "<", ">=", "<="):
            if actual is None:
                return False
            n = int(clause["num"] or clause["sq"] or clause["dq"])
            return {
                ">": actual > n,
                "<": actual < n,
                ">=": actual >= n,
                "<=": actual <= n,
                ":": actual == n,
                "~": False,
            }[op]
        wanted = clause["sq"] if clause["sq"] is not None else clause["dq"]
        if actual is None:
            return False
        if isinstance(actual, bool):
            actual = str(actual).lower()
        if op == "~":
            return wanted.lower() in str(actual).lower()
        return str(actual).lower() == wanted.lower()

    combine = any if joiner == "OR" else all
    return lambda obj: combine(test(obj, c) for c in clauses)
