"""The runtime must not pull in CLI-only dependencies."""

import subprocess
import sys


def test_runtime_imports_no_cli_dependency() -> None:
    code = (
        "import sys, promptctl.runtime\n"
        "heavy = [m for m in ('typer', 'rich', 'git', 'deepdiff', 'click') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
