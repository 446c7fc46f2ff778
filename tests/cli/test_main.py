import subprocess
import sys

from promptctl import __version__


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "promptctl", *args], capture_output=True, text=True, check=False
    )


def test_version_prints_package_version() -> None:
    out = run_cli("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"promptctl {__version__}"


def test_unknown_command_is_usage_error() -> None:
    out = run_cli("no-such-command")
    assert out.returncode == 2
    assert "no-such-command" in out.stderr
