"""Layering of the product code: no import cycles among its modules, services and selectors never
build HTTP responses, domain errors live outside the API layer, tasks import services inside the
function. Read from the source (ast), so it needs no database."""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_APPS = (
    "analytics",
    "billing_project",
    "budgets",
    "commitments",
    "coupons",
    "credits",
    "entitlements",
    "invoicing",
    "notifications",
    "policies",
    "billing_details",
    "portal",
    "subscriptions",
    "tenants",
    "usage",
    "webhooks",
)
SKIPPED_PARTS = {"migrations", "tests", "__pycache__"}


def _modules() -> dict[str, Path]:
    modules = {}
    for app in PRODUCT_APPS:
        for path in (ROOT / app).rglob("*.py"):
            if SKIPPED_PARTS & set(path.relative_to(ROOT).parts):
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_nodes(tree: ast.Module):
    """The import statements that run when the module is imported: not those inside a function
    (they run when it is called) nor under `if TYPE_CHECKING:`."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        stack.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt))


def _with_packages(name: str, modules, importer: str = "") -> set[str]:
    """Importing a.b.c runs a/__init__ and a/b/__init__ too, except the importer's own packages:
    those are already being imported when one of their modules runs."""
    parts = name.split(".")
    own = importer.split(".")
    return {
        ".".join(parts[:i])
        for i in range(1, len(parts) + 1)
        if i == len(parts) or parts[:i] != own[:i]
    } & modules.keys()


def _imports(module: str, path: Path, modules) -> set[str]:
    targets: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in _import_time_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                targets |= _with_packages(alias.name, modules, module)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join(anchor + ([base] if base else []))
        targets |= _with_packages(base, modules, module)
        for alias in node.names:
            targets |= _with_packages(f"{base}.{alias.name}", modules, module)
    targets.discard(module)
    return targets


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {module: _imports(module, path, modules) for module, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle_and_ignores_a_chain():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_graph_reads_import_time_imports_only(tmp_path, monkeypatch):
    package = tmp_path / "billing_project"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "one.py").write_text("from billing_project import two\n")
    (package / "two.py").write_text("def f():\n    from billing_project import one\n")
    (package / "three.py").write_text(
        "from . import one\nclass C:\n    import billing_project.two\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    graph = import_graph()
    assert graph["billing_project.one"] == {"billing_project", "billing_project.two"}
    assert graph["billing_project.two"] == set()  # the function-level import does not count
    assert graph["billing_project.three"] == {
        "billing_project",
        "billing_project.one",
        "billing_project.two",
    }


def test_product_modules_import_each_other_without_cycles():
    graph = import_graph()
    assert len(graph) > 100  # the whole product, not an empty walk
    assert cycles(graph) == []


def _source(module_path: str) -> str:
    return (ROOT / module_path).read_text()


@pytest.mark.parametrize(
    "path",
    sorted(
        str(p.relative_to(ROOT))
        for app in PRODUCT_APPS
        for pattern in ("services.py", "services/*.py", "selectors.py")
        for p in (ROOT / app).glob(pattern)
    ),
)
def test_services_and_selectors_never_build_http_responses(path):
    graph_imports = {
        n.module for n in ast.walk(ast.parse(_source(path))) if isinstance(n, ast.ImportFrom)
    }
    assert "django.http" not in graph_imports and "rest_framework.response" not in graph_imports


def test_domain_errors_live_in_the_domain_module():
    from billing_project import errors
    from billing_project.api import exceptions

    assert (
        exceptions.DomainError is errors.DomainError
    )  # the API layer re-exports, it does not define
    assert errors.DomainError.__module__ == "billing_project.errors"
    offenders = {
        str(p.relative_to(ROOT))
        for app in PRODUCT_APPS
        for p in list((ROOT / app).glob("services.py")) + list((ROOT / app).glob("services/*.py"))
        if "billing_project.api" in p.read_text()
    }
    # The webhook pipeline is being replaced by the Stripe package's registry (issue 15 item 2).
    assert offenders <= {"subscriptions/services/webhooks.py"}


@pytest.mark.parametrize("app", ["invoicing", "notifications", "usage", "subscriptions"])
def test_tasks_import_services_inside_the_function(app):
    tree = ast.parse(_source(f"{app}/tasks.py"))
    module_level = [
        n
        for n in _import_time_nodes(tree)
        if isinstance(n, ast.ImportFrom)
        and (
            (n.module or "").startswith(f"{app}.services")
            or (n.module == app and any(a.name == "services" for a in n.names))
        )
    ]
    assert module_level == []
