"""Only billing_project.stripe_gateway imports `stripe` (the emulator and the tests may too)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = ("billing_project/stripe_gateway/", "stripe_emulator/", "tests/")


def _imports_stripe(path: Path) -> bool:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(
            a.name == "stripe" or a.name.startswith("stripe.") for a in node.names
        ):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and node.module
            and (node.module == "stripe" or node.module.startswith("stripe."))
        ):
            return True
    return False


def test_no_module_outside_the_stripe_package_imports_stripe():
    offenders = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith((".venv/", "node_modules/")) or relative.startswith(ALLOWED):
            continue
        if _imports_stripe(path):
            offenders.append(relative)
    assert offenders == []


def test_the_rule_finds_an_import(tmp_path):
    for source in (
        "import stripe\n",
        "from stripe import StripeClient\n",
        "def f():\n    import stripe.error\n",
    ):
        module = tmp_path / "m.py"
        module.write_text(source)
        assert _imports_stripe(module), source


def test_the_services_use_the_packages_idempotency_key_helper():
    from billing_project.stripe_gateway.keys import op_key
    from subscriptions.services.common import op_key as services_op_key

    assert services_op_key is op_key


def test_the_old_gateway_modules_are_gone():
    for old in (
        "subscriptions/gateway.py",
        "invoicing/gateway.py",
        "usage/gateway.py",
        "billing_project/stripe_client.py",
    ):
        assert not (ROOT / old).exists(), old
