"""`--html` on test and diff, `promptctl report`, `promptctl view`, `test --format`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM, Logged

PROMPT = """\
id: demo/qa
version: 1.0.0
tags: [demo]
model:
  use: openai/gpt-4o-mini
inputs:
  q: {type: string}
messages:
  - system: "Answer briefly."
  - user: "Q: {{ q }}"
tests:
  - name: sky
    vars: {q: sky}
    assert:
      - {type: contains, value: sky}
  - name: sea
    vars: {q: sea}
    assert:
      - {type: contains, value: mountain}
"""


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake_llm.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0, timeout_s: 10}\n"
    )
    (tmp_path / "prompts" / "demo").mkdir(parents=True)
    (tmp_path / "prompts" / "demo" / "qa.yaml").write_text(PROMPT)
    fake_llm.reply(lambda logged: f"the {_q(logged)} is <b>lovely</b>")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-cli-0123456789abcdef")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _q(logged: Logged) -> str:
    return str(logged.body["messages"][-1]["content"]).removeprefix("Q: ")


def _data(html: str) -> dict[str, Any]:
    block = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)
    assert block is not None
    data: dict[str, Any] = json.loads(block.group(1))
    return data


def test_test_html_holds_the_run_with_tags_and_rendered_messages(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["test", "--html", "out/run.html", "-o", "r.json"], monkeypatch, capsys)
    assert code == 1
    assert "html report: out/run.html" in err
    data = _data((project / "out" / "run.html").read_text(encoding="utf-8"))
    doc = json.loads((project / "r.json").read_text(encoding="utf-8"))
    assert data["summary"] == doc["summary"]
    assert [c["output"] for c in data["cases"]] == [c["output"] for c in doc["cases"]]
    assert data["tags"] == {"demo/qa": ["demo"]}
    sea = next(c for c in data["cases"] if c["test"] == "sea")
    assert sea["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Q: sea"},
    ]
    assert len(data["history"]) == 1  # this run, from .promptctl/runs


def test_test_format_json_and_markdown(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["test", "--format", "json"], monkeypatch, capsys)
    assert code == 1
    doc = json.loads(out)  # stdout is the results document alone
    assert [c["status"] for c in doc["cases"]] == ["pass", "fail"]
    assert "results: .promptctl/runs/" in err
    code, out, _ = run(["test", "-f", "markdown"], monkeypatch, capsys)
    assert code == 1
    assert out.startswith("| prompt | target | pass rate |")
    assert "| demo/qa@1.0.0 | openai/gpt-4o-mini | 50.0% (1/2) [9.5%–90.5%] |" in out
    assert (
        "- **FAIL** demo/qa @ openai/gpt-4o-mini › sea: output does not contain 'mountain'" in out
    )
    code, _, err = run(["test", "--format", "yaml"], monkeypatch, capsys)
    assert code == 2 and "unknown --format 'yaml'" in err


def test_report_and_view_from_results_files(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["test", "-o", "base.json"], monkeypatch, capsys)[0] == 1
    code, _, err = run(["report", "base.json", "--html", "run.html"], monkeypatch, capsys)
    assert code == 0 and "html report: run.html" in err
    assert _data((project / "run.html").read_text())["kind"] == "run"
    code, out, _ = run(
        ["report", "base.json", "base.json", "--html", "d.html"], monkeypatch, capsys
    )
    diff = _data((project / "d.html").read_text())
    assert code == 0 and out.strip() == diff["verdict_line"]
    assert diff["kind"] == "diff" and diff["verdict"] == "inconclusive"  # two tests only
    assert {t["status"] for t in diff["groups"][0]["tests"]} == {"passing", "still_failing"}
    monkeypatch.setattr("tempfile.tempdir", str(project / "tmp"))
    (project / "tmp").mkdir()
    stale, fresh = (
        project / "tmp" / "promptctl-report-old.html",
        project / "tmp" / "promptctl-report-new.html",
    )
    for page in (stale, fresh):
        page.write_text("<p>")
    os.utime(stale, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    code, out, _ = run(["view", "--no-open"], monkeypatch, capsys)
    assert code == 0
    assert not stale.exists() and fresh.exists()  # a day-old page of an earlier view goes
    page = Path(out.strip())
    assert page.name.startswith("promptctl-report-") and page.suffix == ".html"
    assert (
        _data(page.read_text())["run"]["id"]
        == json.loads((project / "base.json").read_text())["run"]["id"]
    )
    assert page.stat().st_mode & 0o077 == 0  # outputs are private to the user
    page.unlink()


def test_view_opens_the_browser_and_explains_an_empty_project(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["view"], monkeypatch, capsys)
    assert code == 2 and "no run in" in err and "promptctl test" in err
    assert run(["test"], monkeypatch, capsys)[0] == 1
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    code, out, _ = run(["view"], monkeypatch, capsys)
    assert code == 0 and opened == [Path(out.strip()).as_uri()]
    Path(out.strip()).unlink()


def test_report_bad_input_is_one_line(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "junk.json").write_text("{nope")
    code, _, err = run(["report", "junk.json", "--html", "x.html"], monkeypatch, capsys)
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err
    assert not (project / "x.html").exists()


def test_diff_html_from_two_results_files(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["test", "-o", "base.json"], monkeypatch, capsys)[0] == 1
    fake_llm.reply(lambda logged: "a mountain view" if _q(logged) == "sea" else "no idea")
    assert run(["test", "--no-cache", "-o", "head.json"], monkeypatch, capsys)[0] == 1
    args = ["diff", "--base", "base.json", "--head", "head.json", "--html", "d.html"]
    code, out, err = run([*args, "--format", "json"], monkeypatch, capsys)
    data = _data((project / "d.html").read_text())
    tests = {t["test"]: t for t in data["groups"][0]["tests"]}
    assert tests["sky"]["status"] == "regressed" and tests["sea"]["status"] == "fixed"
    assert ["-", "the"] in tests["sky"]["words"] and ["+", "no"] in tests["sky"]["words"]
    assert "html report: d.html" in err
    # One flip each way at repeat 1 is no evidence: the page shows the gate's own verdict.
    assert (data["verdict"], code) == ("inconclusive", 0)
    assert json.loads(out)["verdict"] == data["verdict"]


def test_an_unusable_html_path_fails_before_any_call(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (project / "taken").mkdir()
    code, _, err = run(["test", "--html", "taken"], monkeypatch, capsys)
    assert code == 2 and "is a directory" in err and "Traceback" not in err
    assert fake_llm.requests == []


def test_report_shows_messages_only_for_the_prompt_that_ran(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["test", "-o", "r.json"], monkeypatch, capsys)[0] == 1
    assert run(["report", "r.json", "--html", "same.html"], monkeypatch, capsys)[0] == 0
    same = _data((project / "same.html").read_text())
    assert all(c["messages"][-1]["content"].startswith("Q: ") for c in same["cases"])
    qa = project / "prompts" / "demo" / "qa.yaml"
    qa.write_text(qa.read_text().replace("Answer briefly.", "Answer at length."))
    assert run(["report", "r.json", "--html", "edited.html"], monkeypatch, capsys)[0] == 0
    edited = _data((project / "edited.html").read_text())
    assert [c["messages"] for c in edited["cases"]] == [None, None]  # never sent like this
    assert edited["tags"] == {"demo/qa": ["demo"]}


def test_a_closed_stdout_pipe_does_not_lose_the_html(project: Path) -> None:
    # `promptctl test --html r.html | head -1`: the reader may be gone before the table.
    exe = str(Path(sys.executable).parent / "promptctl")
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        subprocess.run(
            [exe, "test", "--html", "r.html"],
            cwd=project,
            stdout=write_end,
            stderr=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert _data((project / "r.html").read_text())["kind"] == "run"
