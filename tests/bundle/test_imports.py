"""The runtime will import bundle and ledger modules: they must stay light."""

import subprocess
import sys

import pytest

HEAVY = ("typer", "rich", "git", "deepdiff", "click", "cryptography")


@pytest.mark.parametrize(
    "module",
    [
        "promptctl.bundle.format",
        "promptctl.bundle.signing",
        "promptctl.bundle.release",
        "promptctl.bundle.publish",
        "promptctl.ledger",
        "promptctl.ledger.report",
        "promptctl.ledger.budgets",
    ],
)
def test_module_imports_nothing_heavy(module: str) -> None:
    code = f"import sys, {module}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
