"""`promptctl ci` on a pull request from a fork: no python checks, no provider changes,
unless `--trust-pr`. Real git repository, real CLI, fake LLM servers on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM
from fakes.prompt_repo import git, make_repo
from promptctl.evals.pr_trust import PROVIDER_TRUST_FIELDS
from promptctl.promptfile.model import ProviderSettings

KEY = "sk-test-trust-0123456789abcdef"
CHECK = """\
from pathlib import Path

Path(__file__).with_name("ran.txt").write_text("the pull request's code ran")


def ok(output, context):
    return True
"""


@pytest.fixture
def repo(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo(tmp_path / "repo", fake_llm)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    for name in ("GITHUB_BASE_REF", "GITHUB_STEP_SUMMARY", "GITHUB_EVENT_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def attacker() -> Iterator[FakeLLM]:
    server = FakeLLM().start()
    server.reply("sky! sea! sun! tree! rock! rain!")
    try:
        yield server
    finally:
        server.stop()


def _event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, head: str | None) -> None:
    head_repo = {"full_name": head} if head is not None else None
    event = {
        "action": "synchronize",
        "pull_request": {
            "number": 7,
            "head": {"ref": "feature", "repo": head_repo},
            "base": {"ref": "main", "repo": {"full_name": "acme/prompts"}},
        },
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))


def _add_python_check(root: Path) -> None:
    (root / "evals").mkdir(exist_ok=True)
    (root / "evals" / "checks.py").write_text(CHECK)
    qa = root / "prompts" / "demo" / "qa.yaml"
    qa.write_text(
        qa.read_text().replace(
            "      - {type: contains, value: sky}\n",
            "      - {type: contains, value: sky}\n"
            "      - {type: python, value: evals/checks.py:ok}\n",
        )
    )
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "python check")


def _change_config(root: Path, old: str, new: str) -> None:
    config = root / "promptctl.yaml"
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new))
    git(root, "commit", "-q", "-am", "providers")


def test_a_fork_pr_with_a_python_check_is_refused_before_anything_runs(
    repo: Path,
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _add_python_check(repo)
    _event(tmp_path, monkeypatch, "mallory/prompts")
    code, _, err = run(["ci"], monkeypatch, capsys)
    assert code == 1, err
    assert "refusing to test a pull request #7 from mallory/prompts into acme/prompts" in err
    assert "  - prompts/demo/qa.yaml:16:9: python check evals/checks.py:ok" in err
    assert "--trust-pr" in err and "Traceback" not in err
    assert not (repo / "evals" / "ran.txt").exists()
    assert fake_llm.calls["openai"] == 0


def test_trust_pr_runs_a_fork_prs_python_checks(
    repo: Path,
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _add_python_check(repo)
    _event(tmp_path, monkeypatch, "mallory/prompts")
    code, _, err = run(["ci", "--trust-pr"], monkeypatch, capsys)
    assert code == 0, err
    assert (repo / "evals" / "ran.txt").exists()


@pytest.mark.parametrize("event", ["same-repo", "none"])
def test_same_repo_branches_and_local_runs_run_python_checks(
    event: str,
    repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _add_python_check(repo)
    if event == "same-repo":
        _event(tmp_path, monkeypatch, "Acme/Prompts")  # GitHub names ignore case
    code, _, err = run(["ci"], monkeypatch, capsys)
    assert code == 0, err
    assert (repo / "evals" / "ran.txt").exists()


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("max_retries: 0", "max_retries: 0, headers: {X-Key: a}", "headers"),
        ("api_key_env: OPENAI_API_KEY", "api_key_env: GITHUB_TOKEN", "api_key_env"),
        ("kind: openai,", "kind: openai-compatible,", "kind"),
    ],
)  # fmt: skip
def test_a_fork_pr_changing_provider_settings_is_refused(
    old: str,
    new: str,
    field: str,
    repo: Path,
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _change_config(repo, old, new)
    _event(tmp_path, monkeypatch, "mallory/prompts")
    code, _, err = run(["ci"], monkeypatch, capsys)
    assert code == 1, err
    assert f"promptctl.yaml: provider 'openai' changes {field}" in err
    assert fake_llm.calls["openai"] == 0


def test_a_fork_pr_pointing_base_url_elsewhere_never_sends_the_key(
    repo: Path,
    tmp_path: Path,
    fake_llm: FakeLLM,
    attacker: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _change_config(repo, fake_llm.openai_base, attacker.openai_base)
    _event(tmp_path, monkeypatch, None)  # a deleted fork is a fork
    code, _, err = run(["ci"], monkeypatch, capsys)
    assert code == 1, err
    assert "provider 'openai' changes base_url" in err
    assert "from an unknown or deleted fork" in err
    assert attacker.requests == [] and fake_llm.calls["openai"] == 0
    assert attacker.openai_base not in err  # settings are named, not echoed
    code, _, err = run(["ci", "--trust-pr"], monkeypatch, capsys)
    assert code == 0, err
    assert attacker.requests  # trusted on purpose: the PR's settings are used


def test_a_fork_pr_adding_a_provider_is_refused_but_tuning_one_is_not(
    repo: Path,
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _change_config(repo, "timeout_s: 2}", "timeout_s: 5}")
    _event(tmp_path, monkeypatch, "mallory/prompts")
    code, _, err = run(["ci"], monkeypatch, capsys)
    assert code == 0, err
    assert "pull request #7 from mallory/prompts: no python checks; providers, gate and" in err
    _change_config(
        repo, "gate:", "  mine: {kind: openai-compatible, base_url: 'http://127.0.0.1:9/v1'}\ngate:"
    )
    code, _, err = run(["ci"], monkeypatch, capsys)
    assert code == 1, err
    assert "provider 'mine' is new" in err


def test_a_fork_pr_loosening_its_gate_is_refused_until_trusted(
    repo: Path,
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With secrets exposed to the pull request (pull_request_target, a self-hosted runner)
    the workflow is the base's, but `gate:` is read from the pull request's promptctl.yaml:
    a fork could set the bar it is judged by."""
    _change_config(
        repo,
        "gate: {max_cost_increase_pct: null, min_detectable_drop: 0.5}",
        "gate: {max_cost_increase_pct: null, min_detectable_drop: 0.5, max_pass_rate_drop: 0.9}",
    )
    _event(tmp_path, monkeypatch, "mallory/prompts")
    code, _, err = run(["ci"], monkeypatch, capsys)
    assert code == 1, err
    assert "promptctl.yaml: changes the gate: max_pass_rate_drop 0.0 -> 0.9" in err
    assert fake_llm.calls["openai"] == 0
    code, _, err = run(["ci", "--trust-pr"], monkeypatch, capsys)
    assert code == 0, err


@pytest.mark.parametrize(
    ("added", "reason"),
    [
        (
            "pricing:\n  openai/gpt-4o-mini: {input: 0, output: 0}\n",
            "changes the price of openai/gpt-4o-mini (the cost rule would read",
        ),
        (
            "judge: openai/gpt-4o\n",
            "changes the judge: openai/gpt-4o-mini -> openai/gpt-4o (the pull request would pick",
        ),
        ("ledger: ../outside.sqlite\n", "changes the ledger (calls would be written"),
        (
            "ledger: postgresql://db.evil.test/ledger\n",
            "changes the ledger (calls would be written, and a database sent",
        ),
        ("shared_state: redis://redis.evil.test:6379/0\n", "changes shared_state (the fleet's"),
    ],
    ids=["pricing", "judge", "ledger-file", "ledger-database", "shared-state"],
)
def test_a_fork_pr_changing_how_it_is_judged_or_where_it_writes_is_refused(
    added: str,
    reason: str,
    repo: Path,
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Prices at 0 would pass any cost increase; the judge grades the llm-rubric checks; a
    ledger outside the project is a write outside it, a database one gets PGPASSWORD."""
    config = repo / "promptctl.yaml"
    config.write_text(config.read_text() + added)
    git(repo, "commit", "-q", "-am", "judged differently")
    _event(tmp_path, monkeypatch, "mallory/prompts")
    code, _, err = run(["ci"], monkeypatch, capsys)
    assert code == 1, err
    assert f"promptctl.yaml: {reason}" in err
    assert fake_llm.calls["openai"] == 0
    assert not (repo.parent / "outside.sqlite").exists()


def test_an_unreadable_event_file_fails_closed(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(tmp_path / "missing.json"))
    code, _, err = run(["ci"], monkeypatch, capsys)
    assert code == 2, err
    assert "cannot read $GITHUB_EVENT_PATH" in err


def test_every_routing_field_of_a_provider_is_compared() -> None:
    """A new ProviderSettings field must be classed as harmless here, or compared."""
    harmless = {"name", "timeout_s", "max_concurrency", "rpm", "tpm", "max_retries", "deadline_s"}
    names = {f.name for f in dataclasses.fields(ProviderSettings)}
    assert names - harmless == set(PROVIDER_TRUST_FIELDS)


def test_a_fork_pr_bringing_its_own_recordings_is_refused(
    repo: Path,
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Replayed answers the pull request wrote itself would pass any change."""
    forged = repo / "evals" / "recordings" / "ab" / ("ab" + "0" * 62 + ".json")
    forged.parent.mkdir(parents=True)
    forged.write_text('{"schema": "promptctl/recording@1", "response": {"text": "sky!"}}\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "recordings")
    _event(tmp_path, monkeypatch, "mallory/prompts")
    code, _, err = run(["ci", "--mode", "replay"], monkeypatch, capsys)
    assert code == 1, err
    assert f"evals/recordings/ab/{forged.name}: answers the pull request added" in err
    assert fake_llm.calls["openai"] == 0
    forged.unlink()  # not committed: the working tree is what would be replayed
    code, _, err = run(["ci"], monkeypatch, capsys)
    assert code == 0, err


def test_a_fork_pr_committing_a_response_cache_is_refused(
    repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["test"], monkeypatch, capsys)[0] == 0  # fills .promptctl/cache.sqlite
    git(repo, "add", "-f", ".promptctl/cache.sqlite")
    git(repo, "commit", "-q", "-m", "a cache full of answers")
    _event(tmp_path, monkeypatch, "mallory/prompts")
    code, _, err = run(["ci"], monkeypatch, capsys)
    assert code == 1, err
    assert ".promptctl/cache.sqlite: answers the pull request added or changed" in err
    git(repo, "rm", "-q", "--cached", ".promptctl/cache.sqlite")
    git(repo, "commit", "-q", "-m", "untracked again: a cache restored by CI is fine")
    code, _, err = run(["ci"], monkeypatch, capsys)
    assert code == 0, err


@pytest.mark.parametrize(
    ("event", "refused"),
    [
        (  # a run triggered by a fork's pull_request workflow (artifacts, caches)
            {
                "workflow_run": {
                    "event": "pull_request",
                    "head_repository": {"full_name": "mallory/prompts"},
                    "pull_requests": [],
                },
                "repository": {"full_name": "acme/prompts"},
            },
            True,
        ),
        (
            {
                "workflow_run": {
                    "event": "pull_request",
                    "head_repository": {"full_name": "acme/prompts"},
                    "pull_requests": [{"number": 7}],
                },
                "repository": {"full_name": "acme/prompts"},
            },
            False,
        ),
        (  # "/evaluate" commented on a pull request: whose head is unknown
            {
                "issue": {"number": 7, "pull_request": {"url": "https://api.github.com/…"}},
                "repository": {"full_name": "acme/prompts"},
            },
            True,
        ),
        ({"ref": "refs/heads/main", "repository": {"full_name": "acme/prompts"}}, False),
    ],
)
def test_other_events_about_pull_requests(
    event: dict[str, object],
    refused: bool,
    repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _add_python_check(repo)
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))
    code, _, err = run(["ci"], monkeypatch, capsys)
    assert (code, "refusing to test" in err) == ((1, True) if refused else (0, False)), err
    assert (repo / "evals" / "ran.txt").exists() is not refused
