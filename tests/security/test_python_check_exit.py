"""A `python` check that exits, kills or hangs its process cannot decide promptctl's exit.

Before checks ran in their own process, `SystemExit(0)` or `os._exit(0)` inside a check
made `promptctl test` exit 0 with failing cases. These run the real console script in a
subprocess (os._exit would end pytest itself otherwise) against the fake LLM server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fakes.llm_server import FakeLLM

CHECKS = """\
import os
import sys
import time


def exits_zero(output, context):
    raise SystemExit(0)


def calls_sys_exit(output, context):
    sys.exit()


def hard_exit(output, context):
    os._exit(0)


def prints_then_passes(output, context):
    print("noise on stdout")
    return True


def hangs(output, context):
    time.sleep(60)
    return True
"""

PROMPT = """\
id: demo/exit
version: 1.0.0
model:
  use: openai/gpt-4o-mini
messages:
  - user: "say hi"
tests:
  - name: wrong answer
    assert: [{type: contains, value: "never said"}]
  - name: system exit zero
    assert: [{type: python, value: "evals/checks.py:exits_zero"}]
  - name: sys exit
    assert: [{type: python, value: "evals/checks.py:calls_sys_exit"}]
  - name: os exit
    assert: [{type: python, value: "evals/checks.py:hard_exit"}]
  - name: after the crash
    assert: [{type: python, value: "evals/checks.py:prints_then_passes"}]
"""


def _project(root: Path, fake: FakeLLM, prompt: str = PROMPT) -> Path:
    (root / "prompts" / "demo").mkdir(parents=True)
    (root / "evals").mkdir()
    (root / "evals" / "checks.py").write_text(CHECKS)
    (root / "prompts" / "demo" / "exit.yaml").write_text(prompt)
    (root / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0}\n"
    )
    return root


def _promptctl(root: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-exit-0123456789abcdef"}
    exe = Path(sys.executable).parent / "promptctl"
    return subprocess.run(
        [str(exe), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_exiting_checks_fail_their_case_and_the_run_exits_1(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    fake_llm.reply("hi")
    root = _project(tmp_path, fake_llm)
    proc = _promptctl(root, "test", "--output", "out.json", "--concurrency", "1")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    cases = {c["test"]: c for c in json.loads((root / "out.json").read_text())["cases"]}
    status = {name: c["status"] for name, c in cases.items()}
    assert status == {
        "wrong answer": "fail",
        "system exit zero": "fail",
        "sys exit": "fail",
        "os exit": "fail",
        "after the crash": "pass",
    }
    reasons = {name: c["assertions"][0]["reason"] for name, c in cases.items()}
    assert reasons["system exit zero"] == (
        "check failed to run: evals/checks.py:exits_zero raised SystemExit: 0"
    )
    assert reasons["sys exit"].startswith("check failed to run: evals/checks.py:calls_sys_exit")
    assert "SystemExit" in reasons["sys exit"]
    assert reasons["os exit"] == (
        "check failed to run: evals/checks.py:hard_exit ended the check process "
        "(exit code 0: sys.exit, os._exit or a crash)"
    )
    assert "noise on stdout" in proc.stderr  # a check's print cannot corrupt the channel


def test_a_check_exiting_at_import_fails_its_case(tmp_path: Path, fake_llm: FakeLLM) -> None:
    fake_llm.reply("hi")
    root = _project(tmp_path, fake_llm)
    (root / "evals" / "evil.py").write_text("import os\nos._exit(0)\n")
    prompt = PROMPT.split("  - name: system exit zero")[0] + (
        "  - name: evil import\n    assert: [{type: python, value: 'evals/evil.py:f'}]\n"
    )
    (root / "prompts" / "demo" / "exit.yaml").write_text(prompt)
    proc = _promptctl(root, "test", "--output", "out.json")
    assert proc.returncode == 1, proc.stderr
    statuses = [c["status"] for c in json.loads((root / "out.json").read_text())["cases"]]
    assert statuses == ["fail", "fail"]


def test_a_hanging_check_is_stopped(
    tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process this time: the timeout is a module constant the test shortens."""
    from promptctl.evals.assertions import check_host
    from promptctl.evals.assertions.base import AssertionContext, run_assertion
    from promptctl.promptfile.model import AssertionSpec

    root = _project(tmp_path, fake_llm)
    monkeypatch.setattr(check_host, "CHECK_TIMEOUT_S", 0.5)
    ctx = AssertionContext(output="x", project_root=root)
    hung = run_assertion(AssertionSpec(type="python", value="evals/checks.py:hangs"), ctx)
    assert not hung.passed
    assert hung.reason == (
        "check failed to run: evals/checks.py:hangs ran longer than 0.5 s and was stopped"
    )
    after = run_assertion(
        AssertionSpec(type="python", value="evals/checks.py:prints_then_passes"), ctx
    )
    assert after.passed


def test_a_check_killed_by_a_signal_fails_its_case(tmp_path: Path, fake_llm: FakeLLM) -> None:
    from promptctl.evals.assertions.base import AssertionContext, run_assertion
    from promptctl.promptfile.model import AssertionSpec

    root = _project(tmp_path, fake_llm)
    (root / "evals" / "nasty.py").write_text(
        "import os, signal\ndef segv(output, context):\n    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    ctx = AssertionContext(output="x", project_root=root)
    killed = run_assertion(AssertionSpec(type="python", value="evals/nasty.py:segv"), ctx)
    assert not killed.passed
    assert killed.reason.endswith(
        "ended the check process (signal 9: sys.exit, os._exit or a crash)"
    )
    fine = AssertionSpec(type="python", value="evals/checks.py:prints_then_passes")
    assert run_assertion(fine, ctx).passed  # a fresh process answers the next check
