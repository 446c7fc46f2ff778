"""`promptctl ci` on a real git repository, the fake LLM server and the fake GitHub API;
`init`'s workflow; the README's shard + merge recipe end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fakes.cli import run
from fakes.github_api import serve
from fakes.llm_server import FakeLLM
from fakes.prompt_repo import TESTS, make_repo, regress, snapshot
from promptctl.report.diff_report import MARKER

TOKEN = "ghs_ci_secret_token_42"


@pytest.fixture
def repo(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo(tmp_path / "repo", fake_llm)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-ci-0123456789abcdef")
    for name in ("GITHUB_BASE_REF", "GITHUB_EVENT_PATH", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(root)
    return root


def test_ci_comment_is_created_then_updated(
    repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    regress(repo)
    before = snapshot(repo)
    summary = tmp_path / "summary.md"
    with serve(TOKEN) as gh:
        for name, value in {
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": "acme/prompts",
            "GITHUB_REF": "refs/pull/7/merge",
            "GITHUB_API_URL": gh.base_url,
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": "4242",
        }.items():
            monkeypatch.setenv(name, value)
        first = run(
            ["ci", "--comment", "--repeat", "3", "--junit", ".promptctl/ci.xml"],
            monkeypatch,
            capsys,
        )
        second = run(["ci", "--comment", "--repeat", "3"], monkeypatch, capsys)
    assert [first[0], second[0]] == [1, 1]
    assert "PR comment created" in first[2] and "PR comment updated" in second[2]
    methods = [r.method for r in gh.requests]
    assert methods.count("POST") == 1 and methods.count("PATCH") == 1
    (comment,) = gh.comments[7]
    assert comment["body"].startswith("❌ promptctl: 2 regressions in demo/qa")
    assert MARKER in comment["body"] and "### What changed in the prompts" in comment["body"]
    report = (repo / ".promptctl" / "ci-report.md").read_text(encoding="utf-8")
    assert report == comment["body"]
    assert "https://github.com/acme/prompts/actions/runs/4242#artifacts" in report
    html = (repo / ".promptctl" / "ci-report.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in html and '"verdict":"fail"' in html
    assert summary.read_text(encoding="utf-8").count(MARKER) == 2
    head = json.loads((repo / ".promptctl" / "ci-results.json").read_text(encoding="utf-8"))
    assert len(head["cases"]) == 3 * len(TESTS)
    assert sorted({c["test"] for c in head["cases"] if c["status"] == "fail"}) == ["sea", "sun"]
    assert (repo / ".promptctl" / "ci.xml").read_text(encoding="utf-8").count("<failure") == 6
    assert all(TOKEN not in out + err for _, out, err in (first, second))
    assert snapshot(repo) == before


def test_ci_passes_on_an_unchanged_prompt_and_writes_the_step_summary(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, err = run(["ci", "--repeat", "2", "--report", "r.md"], monkeypatch, capsys)
    assert code == 0, err
    assert out.splitlines()[0] == "✅ promptctl: no regressions"
    assert (repo / "r.md").read_text(encoding="utf-8").startswith("✅ promptctl: no regressions")
    assert summary.read_text(encoding="utf-8").startswith("✅ promptctl: no regressions")


def test_init_writes_the_pull_request_workflow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["init", str(tmp_path / "new")], monkeypatch, capsys)
    assert code == 0
    path = tmp_path / "new" / ".github" / "workflows" / "promptctl.yml"
    assert f"created {path}" in out
    flow = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert flow["permissions"]["pull-requests"] == "write"
    steps = flow["jobs"]["gate"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    (gate,) = [s for s in steps if "promptctl ci" in s.get("run", "")]
    assert gate["run"] == "promptctl ci --comment"
    assert gate["env"]["GITHUB_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    assert gate["env"]["OPENAI_API_KEY"] == "${{ secrets.OPENAI_API_KEY }}"
    assert flow[True] == {"pull_request": None}  # YAML 1.1 reads the key `on` as true


def test_readme_shard_matrix_merges_to_the_unsharded_run(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's recipe: `test --shard I/N --output`, `merge`, then `diff --head`."""
    regress(repo)
    codes = [
        run(
            ["test", "--repeat", "3", "--shard", f"{i}/2", "-o", f"shard-{i}.json", "-q"],
            monkeypatch,
            capsys,
        )[0]
        for i in (1, 2)
    ]
    assert set(codes) <= {0, 1} and 1 in codes  # failing tests exit 1: the recipe allows it
    code, out, _ = run(
        ["merge", "shard-1.json", "shard-2.json", "-o", "all.json"], monkeypatch, capsys
    )
    assert code == 0, out
    code, _, _ = run(["test", "--repeat", "3", "-o", "whole.json", "-q"], monkeypatch, capsys)
    merged = json.loads((repo / "all.json").read_text(encoding="utf-8"))
    whole = json.loads((repo / "whole.json").read_text(encoding="utf-8"))
    shards = [json.loads((repo / f"shard-{i}.json").read_text()) for i in (1, 2)]
    assert all(s["cases"] for s in shards)  # both shards got work
    assert sorted(c["key"] for c in merged["cases"]) == sorted(c["key"] for c in whole["cases"])
    assert [(s["passed"], s["failed"]) for s in merged["summary"]] == [(12, 6)]
    code, out, _ = run(["diff", "--head", "all.json", "--repeat", "3"], monkeypatch, capsys)
    assert code == 1
    assert "2 regressions in demo/qa" in out.splitlines()[0]


def test_comment_without_a_token_fails_before_any_provider_call(
    repo: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    code, _, err = run(["ci", "--comment"], monkeypatch, capsys)
    assert code == 2
    assert err == "error: GITHUB_TOKEN is not set (pass it from secrets.GITHUB_TOKEN)\n"
    assert fake_llm.calls["openai"] == 0
