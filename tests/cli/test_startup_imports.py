"""`--help` and `--version` stay fast: no heavy dependency is imported to show them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = (
    "httpx",
    "httpx2",
    "jsonschema",
    "git",
    "deepdiff",
    "cryptography",
    "jinja2",
    "genai_prices",
    "pydantic",  # typer 0.29 imports it (~70 ms): pyproject caps typer below 0.29
)

# Runs the real entry point in a fresh interpreter, then reports what got imported.
_RUNNER = """
import json, sys
sys.argv = ["promptctl", *ARGS]
from promptctl.cli.main import main
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))
sys.stderr.write("\\n@@" + json.dumps({"code": code, "heavy": heavy}) + "\\n")
"""


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["lint", "--help"]])
def test_startup_imports_no_heavy_dependency(args: list[str]) -> None:
    code = f"ARGS = {args!r}\nHEAVY = {HEAVY!r}\n" + _RUNNER
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    report = json.loads(out.stderr.rsplit("@@", 1)[1])
    assert report["code"] in (0, None)
    assert "promptctl" in out.stdout.lower() or "usage" in out.stdout.lower()
    assert report["heavy"] == []


def test_the_runner_would_see_a_heavy_import() -> None:
    """Guard against a runner that can never fail: importing jinja2 first is reported."""
    code = f"ARGS = ['--version']\nHEAVY = {HEAVY!r}\nimport jinja2\n" + _RUNNER
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stderr.rsplit("@@", 1)[1])["heavy"] == ["jinja2"]
