"""The layers of DESIGN.md, as drawn: every import of promptctl code points downward.

An AST walk over src/promptctl (imports inside functions and under TYPE_CHECKING count:
a lazy import is still a dependency). A module may import its own layer and any layer
below it in `LAYERS`; the package root (`promptctl.__version__`) is below everything.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from fakes.source import SRC, parsed

# top-down, as in DESIGN.md "Layers"
LAYERS = (
    "__main__",
    "cli",
    "report",
    "publish",
    "evals",
    "lint",
    "runtime",
    "ledger",
    "bundle",
    "providers",
    "plan",
    "render",
    "promptfile",
    "errors",
    "",  # the package root: promptctl/__init__.py
)


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


# the package root's own private helpers (imported by promptctl/__init__.py): the root
ROOT_MODULES = frozenset({"_code_store"})


def _layer(module: str) -> str:
    parts = module.split(".")
    layer = parts[1] if len(parts) > 1 else ""
    return "" if layer in ROOT_MODULES else layer


def _imports(path: Path, root: Path) -> list[tuple[int, str]]:
    module = _module_name(path, root)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out: list[tuple[int, str]] = []
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            out.append((node.lineno, target))
            # `from promptctl import render` imports the module promptctl.render
            if target == "promptctl":
                out += [(node.lineno, f"promptctl.{a.name}") for a in node.names]
    return [(line, name) for line, name in out if name.split(".")[0] == "promptctl"]


def _violations(root: Path = SRC) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        source = _layer(_module_name(path, root))
        assert source in LAYERS, f"{path}: layer {source!r} is not in DESIGN.md's list"
        for line, target in _imports(path, root):
            layer = _layer(target)
            if layer == "__version__":  # `from promptctl import __version__`
                layer = ""
            if layer not in LAYERS:
                bad.append(f"{path.relative_to(root)}:{line}: unknown layer of {target}")
            elif LAYERS.index(layer) < LAYERS.index(source):
                bad.append(f"{path.relative_to(root)}:{line}: {source} imports {target} (upward)")
    return bad


def test_imports_only_point_downward() -> None:
    assert _violations() == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The walk resolves relative and lazy imports (so the test above can fail)."""
    root = tmp_path / "promptctl"
    (root / "ledger").mkdir(parents=True)
    (root / "ledger" / "__init__.py").write_text("from promptctl.errors import ConfigError\n")
    (root / "ledger" / "probe.py").write_text(
        "def f() -> None:\n    from ..report import money\n    from promptctl import cli\n"
    )
    assert _violations(root) == [
        "ledger/probe.py:2: ledger imports promptctl.report (upward)",
        "ledger/probe.py:3: ledger imports promptctl.cli (upward)",
    ]


HEAVY = ("typer", "rich", "click", "git", "deepdiff")
ABOVE_RUNTIME = ("promptctl.cli", "promptctl.report", "promptctl.publish", "promptctl.evals")


@pytest.mark.parametrize("module", ["promptctl.runtime", "promptctl.plan.call"])
def test_the_runtime_path_loads_no_cli_publish_lint_or_evals(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "names = sorted({m for m in sys.modules})\n"
        "print('\\n'.join(names))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert module in loaded
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == []
    above = sorted(
        m
        for m in loaded
        if m.startswith((*ABOVE_RUNTIME, "promptctl.lint")) or m == "jsonschema.cli"
    )
    assert above == []
