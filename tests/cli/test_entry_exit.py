"""`promptctl` leaves without the interpreter's teardown (cli.main.entry): what the
teardown does that matters still happens — threads joined, exit handlers run, every byte
written reaches the reader — and the exit status is the command's."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from fakes.llm_server import FakeLLM

_PROBE = """
import atexit, sys, threading, time
from pathlib import Path
out = Path(sys.argv[1])
def late() -> None:
    time.sleep(0.3)
    (out / "thread").write_text("joined")
threading.Thread(target=late).start()  # not a daemon: the exit waits for it
atexit.register(lambda: (out / "atexit").write_text("ran"))
sys.stdout.write("x" * 300_000)  # still in the buffer when the command ends
sys.argv = ["promptctl", *sys.argv[2:]]
from promptctl.cli.main import entry
entry()
"""


def _probe(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_threads_exit_handlers_and_buffered_output_survive_the_fast_exit(
    tmp_path: Path,
) -> None:
    done = _probe(tmp_path, "--version")
    assert done.returncode == 0
    assert done.stdout.startswith("x" * 300_000) and done.stdout.endswith("\n")
    assert "promptctl " in done.stdout[300_000:]
    assert (tmp_path / "thread").read_text() == "joined"
    assert (tmp_path / "atexit").read_text() == "ran"


def test_the_exit_status_is_the_commands(tmp_path: Path) -> None:
    assert _probe(tmp_path, "no-such-command").returncode == 2
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "bad.yaml").write_text("id: [unclosed\n")
    linted = _probe(tmp_path, "lint", "--no-version-check", "--project", str(tmp_path))
    assert linted.returncode == 1  # lint found an error
    assert "bad.yaml" in linted.stdout and "PC001" in linted.stdout


def test_a_run_leaves_its_ledger_closed_and_complete(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    """The ledger is closed by the run and by its exit handler: every paid call is in
    it and SQLite's write-ahead log was folded back (no -wal file left)."""
    fake_llm.reply("ok")
    (tmp_path / "promptctl.yaml").write_text(
        f"providers:\n  openai: {{kind: openai, base_url: '{fake_llm.openai_base}',"
        " api_key_env: OPENAI_API_KEY}\n"
    )
    (tmp_path / "prompts").mkdir()
    tests = "".join(f"  - name: t{i}\n    vars: {{q: '{i}'}}\n" for i in range(30))
    (tmp_path / "prompts" / "qa.yaml").write_text(
        "id: qa\nversion: 1.0.0\nmodel: {use: openai/gpt-4o-mini, params: {max_tokens: 5}}\n"
        "inputs: {q: {type: string}}\nmessages:\n  - user: '{{ q }}'\n"
        f"tests:\n{tests}"
    )
    done = subprocess.run(
        [sys.executable, "-m", "promptctl", "test", "--quiet", "--project", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**fake_env, "PATH": "/usr/bin:/bin"},
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "30 passed" in done.stdout
    state = tmp_path / ".promptctl"
    assert not (state / "ledger.sqlite-wal").exists()
    with sqlite3.connect(state / "ledger.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM calls").fetchone() == (30,)
