"""Text from providers and models cannot issue CI workflow commands in the job log.

GitHub Actions reads a log line starting with `::` as a command (`::error …::` forges an
annotation, `::add-mask::` hides text); Azure Pipelines reads `##vso[`. promptctl's own
`lint --format github` annotations must still work.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM

INJECTED = (
    "bad\n::error title=CI::all tests passed\n  ::add-mask::secret\n"
    "##vso[task.complete result=Succeeded]"
)
COMMAND_LINE = re.compile(r"^[ \t]*(::|##(vso)?\[)", re.M)

PROMPT = """\
id: demo/log
version: 1.0.0
model:
  use: openai/gpt-4o-mini
messages:
  - user: "hello"
tests:
  - name: t
    assert: [{type: contains, value: "never said"}]
"""
# Enough tests that all of them flipping is a regression the gate can see at repeat 1.
MANY_TESTS = PROMPT + "".join(
    f'  - name: t{i}\n    assert: [{{type: contains, value: "never said"}}]\n' for i in range(11)
)


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "prompts" / "demo").mkdir(parents=True)
    (tmp_path / "prompts" / "demo" / "log.yaml").write_text(PROMPT)
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake_llm.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0}\n"
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-log-0123456789abcdef")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_provider_error_body_cannot_issue_commands(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_llm.error(400, message=INJECTED)
    code, out, err = run(["test"], monkeypatch, capsys)
    assert code == 3, err
    assert "all tests passed" in out  # shown…
    assert not COMMAND_LINE.search(out + err), out + err  # …but not as a command


def test_model_output_in_a_results_file_cannot_issue_commands(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (project / "prompts" / "demo" / "log.yaml").write_text(MANY_TESTS)
    fake_llm.reply("I never said that")
    assert run(["test", "--output", "base.json"], monkeypatch, capsys)[0] == 0
    fake_llm.reply(INJECTED)
    assert run(["test", "--no-cache", "--output", "head.json"], monkeypatch, capsys)[0] == 1
    code, md, err = run(
        ["diff", "--base", "base.json", "--head", "head.json", "--format", "markdown"],
        monkeypatch,
        capsys,
    )
    assert code == 1, err
    assert "all tests passed" in md  # the head output is in the report…
    assert not COMMAND_LINE.search(md), md  # …but no line of it is a command


def test_lint_github_annotations_still_work(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "prompts" / "demo" / "broken.yaml").write_text("id: [unclosed\n")
    code, out, _ = run(["lint", "--no-version-check", "--format", "github"], monkeypatch, capsys)
    assert code == 1
    assert out.startswith("::")  # a real annotation for the runner
