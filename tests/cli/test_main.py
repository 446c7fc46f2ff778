import subprocess
import sys

from fakes.cli import invoke
from promptctl import __version__


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m promptctl` itself (its __main__), in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "promptctl", *args], capture_output=True, text=True, check=False
    )


def test_version_prints_package_version() -> None:
    out = run_cli("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"promptctl {__version__}"


def test_unknown_command_is_usage_error() -> None:
    out = invoke("no-such-command")
    assert out.returncode == 2
    assert "no-such-command" in out.stderr
