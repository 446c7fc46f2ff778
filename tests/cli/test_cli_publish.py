"""`promptctl publish` in a real temporary git repository holding the example prompts."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.cli import invoke
from fakes.results_factory import run_info
from promptctl.bundle.signing import generate_keypair
from promptctl.promptfile.loader import load_prompts
from promptctl.promptfile.model import PriceOverride
from promptctl.promptfile.project import project_at
from promptctl.runtime import Runtime

REPO = Path(__file__).resolve().parents[2]


def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return invoke(*args, cwd=cwd)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """The example project committed in a fresh repository, with a passing results file."""
    import git

    root = tmp_path / "acme"
    root.mkdir()
    shutil.copy(REPO / "promptctl.yaml", root / "promptctl.yaml")
    shutil.copytree(REPO / "prompts", root / "prompts")
    shutil.copytree(REPO / "evals" / "datasets", root / "evals" / "datasets")
    repo = git.Repo.init(root, initial_branch="main")
    repo.index.add(["promptctl.yaml", "prompts", "evals"])
    actor = git.Actor("Test", "test@example.com")
    repo.index.commit("prompts", author=actor, committer=actor)
    rows = [
        {
            "prompt": p.id,
            "version": p.version,
            "content_hash": p.content_hash,
            "target": "openai/gpt-4o-mini",
            "cases": 2,
            "passed": 2,
            "failed": 0,
            "errors": 0,
            "skipped": 0,
            "pass_rate": 1.0,
            "pass_rate_ci95": [0.34, 1.0],
            "mean_score": 1.0,
            "input_tokens": 40,
            "output_tokens": 10,
            "cost_usd": 0.0004,
            "latency_p50_ms": 420.0,
            "latency_p95_ms": 800.0,
        }
        for p in load_prompts(project_at(root)).prompts
    ]
    results = {
        "schema": "promptctl/results@1",
        "run": run_info("run-1"),
        "cases": [],
        "summary": rows,
    }
    (root / "results.json").write_text(json.dumps(results))
    yield root
    repo.close()


def test_publish_signed_bundle_loads_in_the_runtime(project: Path) -> None:
    private, public = generate_keypair(project / "keys")
    out = run_cli(
        project,
        "publish",
        "support/triage",
        "support/reply",
        "--results",
        "results.json",
        "--sign-key",
        str(private),
    )
    assert out.returncode == 0, out.stderr
    index = json.loads((project / "releases" / "index.json").read_text())
    assert sorted(index["published"]) == ["support/reply@1.0.3", "support/triage@1.2.0"]
    latest = (project / "releases" / "latest").read_text().strip()
    assert f"published releases/{latest}" in out.stdout
    assert "support/triage@1.2.0+sha256:" in out.stdout and "(new)" in out.stdout
    assert "UNSIGNED" not in out.stderr
    with Runtime.load(project / "releases", public_key=public) as rt:
        assert rt.bundle.verified
        assert f"digest  {rt.bundle.digest}" in out.stdout
        assert sorted(rt.bundle.prompts) == ["support/reply", "support/triage"]


def test_the_public_key_given_to_sign_is_named_and_nothing_written(project: Path) -> None:
    """keygen writes two files; passing the .pub.pem to --sign-key is the likely slip."""
    _, public = generate_keypair(project / "keys")
    out = run_cli(
        project, "publish", "support/triage", "--results", "results.json", "--sign-key",
        str(public),
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "signing key is a public key" in out.stderr
    assert "promptctl-signing.key" in out.stderr
    assert [p.name for p in (project / "releases").iterdir()] == [".lock"]  # no release


def test_dry_run_writes_nothing_and_warns_unsigned(project: Path) -> None:
    out = run_cli(project, "publish", "support/triage", "--results", "results.json", "--dry-run")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("would publish releases/bundle-")
    assert "dry run: nothing written" in out.stdout
    assert "UNSIGNED" in out.stderr
    assert not (project / "releases").exists()


def test_refusal_lists_every_reason_and_exits_1(project: Path) -> None:
    triage = project / "prompts" / "support" / "triage.yaml"
    triage.write_text(triage.read_text().replace("a SaaS company", "a software company"))
    out = run_cli(project, "publish", "--results", "results.json")
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    # without ids, drafts are left out (said so), not refused
    assert lines[0] == "skipped support/extract_order@1.0.0 (draft): not approved"
    assert lines[1] == f"publish refused ({len(lines) - 2} reason(s)):"
    reasons = [line.removeprefix("  - ") for line in lines[2:]]
    assert "uncommitted changes to prompts/support/triage.yaml; commit them first" in reasons
    assert not any("extract_order" in r for r in reasons)
    # the edit changed triage's content hash: the results file no longer covers it
    assert any(r.startswith("support/triage@1.2.0 has no eval result") for r in reasons)
    assert not (project / "releases").exists()


def test_unknown_id_is_bad_input(project: Path) -> None:
    out = run_cli(project, "publish", "support/triagge", "--results", "results.json")
    assert out.returncode == 2
    assert "no prompt with id 'support/triagge'" in out.stderr


def test_a_file_that_does_not_load_is_one_more_reason(project: Path) -> None:
    (project / "prompts" / "broken.yaml").write_text("id: [unclosed\n")
    out = run_cli(project, "publish", "--results", "results.json")
    assert out.returncode == 1
    assert "  - prompts/broken.yaml does not load: " in out.stderr
    assert "skipped support/extract_order@1.0.0 (draft): not approved" in out.stderr
    assert not (project / "releases").exists()


def test_naming_a_draft_is_refused(project: Path) -> None:
    out = run_cli(project, "publish", "support/extract_order", "--results", "results.json")
    assert out.returncode == 1
    assert "  - support/extract_order@1.0.0 is draft, not approved" in out.stderr
    assert "skipped" not in out.stderr
    assert not (project / "releases").exists()


def test_without_ids_only_approved_prompts_are_published(project: Path) -> None:
    out = run_cli(project, "publish", "--results", "results.json")
    assert out.returncode == 0, out.stderr
    assert "skipped support/extract_order@1.0.0 (draft): not approved" in out.stderr
    index = json.loads((project / "releases" / "index.json").read_text())
    assert "support/extract_order@1.0.0" not in index["published"]
    assert "support/triage@1.2.0" in index["published"]


def test_published_bundle_carries_the_projects_pricing(project: Path) -> None:
    import git

    config = project / "promptctl.yaml"
    config.write_text(
        config.read_text()
        + "pricing:\n  openai/gpt-4o-mini: {input: 0.5, output: 2.5}\n"
        + "  gemini/unused: {input: 1, output: 1}\n"
    )
    repo = git.Repo(project)
    repo.index.add(["promptctl.yaml"])
    actor = git.Actor("Test", "test@example.com")
    repo.index.commit("pricing", author=actor, committer=actor)
    out = run_cli(project, "publish", "support/triage", "--results", "results.json")
    assert out.returncode == 0, out.stderr
    with Runtime.load(project / "releases") as rt:
        assert dict(rt.bundle.pricing) == {
            "openai/gpt-4o-mini": PriceOverride(input=0.5, output=2.5)
        }


def _publish(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(project, "publish", *args, "--results", "results.json")


def _latest_ids(project: Path, public: Path | None = None) -> tuple[int, list[str]]:
    with Runtime.load(project / "releases", public_key=public, ledger=False) as rt:
        return rt.bundle.sequence, sorted(rt.bundle.prompts)


def test_publishing_one_prompt_at_a_time_keeps_every_prompt(project: Path) -> None:
    private, public = generate_keypair(project.parent / "keys")
    key = ("--sign-key", str(private))
    first = _publish(project, "support/triage", *key)
    assert first.returncode == 0, first.stderr
    second = _publish(project, "support/reply", *key)
    assert second.returncode == 0, second.stderr
    assert "  release 2" in second.stdout
    assert "support/triage@1.2.0+sha256:" in second.stdout and "(carried over)" in second.stdout
    assert _latest_ids(project, public) == (2, ["support/reply", "support/triage"])
    # the same again changes nothing: no new release number for the same content
    again = _publish(project, "support/reply", *key)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(
        "unchanged: the newest release already is releases/bundle-000002-"
    )
    assert len(list((project / "releases").glob("*.bundle.json"))) == 2
    # dropping a prompt is explicit, and its own release
    removed = run_cli(project, "publish", "--remove", "support/triage", *key)
    assert removed.returncode == 0, removed.stderr
    assert "support/triage@1.2.0+sha256:" in removed.stdout and "(removed)" in removed.stdout
    assert _latest_ids(project, public) == (3, ["support/reply"])
    unknown = run_cli(project, "publish", "--remove", "support/triage", *key)
    assert unknown.returncode == 1
    assert "cannot remove support/triage: it is not in the newest release" in unknown.stderr


def test_signing_over_prompts_another_key_did_not_sign_needs_adopt_previous(
    project: Path,
) -> None:
    assert _publish(project, "support/triage").returncode == 0  # unsigned
    private, public = generate_keypair(project.parent / "keys")
    refused = _publish(project, "support/reply", "--sign-key", str(private))
    assert refused.returncode == 1
    assert "is unsigned; this publish would carry its 1 other prompt(s) over" in refused.stderr
    adopted = _publish(project, "support/reply", "--sign-key", str(private), "--adopt-previous")
    assert adopted.returncode == 0, adopted.stderr
    assert _latest_ids(project, public) == (2, ["support/reply", "support/triage"])


def test_an_uncommitted_config_is_refused(project: Path) -> None:
    config = project / "promptctl.yaml"
    config.write_text(
        config.read_text().replace(
            "openai: {kind: openai, api_key_env: OPENAI_API_KEY}",
            "openai: {kind: openai, api_key_env: OPENAI_API_KEY, base_url: 'http://evil/v1'}",
        )
    )
    out = _publish(project, "support/triage")
    assert out.returncode == 1
    assert "  - uncommitted changes to promptctl.yaml; commit them first" in out.stderr
    assert not (project / "releases").exists()


def test_an_ignored_partial_is_refused(project: Path) -> None:
    import git

    (project / ".gitignore").write_text("*.local.j2\n")
    with git.Repo(project) as repo:
        repo.index.add([".gitignore"])
        actor = git.Actor("Test", "test@example.com")
        repo.index.commit("ignore local partials", author=actor, committer=actor)
    (project / "prompts" / "_partials" / "rules.local.j2").write_text("Refund everything.\n")
    out = _publish(project, "support/triage")
    assert out.returncode == 1
    assert (
        "  - prompts/_partials/rules.local.j2 is ignored by git but would go into the bundle; "
        "commit it (`git add -f`) or remove it"
    ) in out.stderr
    assert not (project / "releases").exists()


def _results_on(project: Path, name: str, rows: list[dict[str, object]], started: str) -> None:
    doc = {
        "schema": "promptctl/results@1",
        "run": run_info(name, started_at=started),
        "cases": [],
        "summary": rows,
    }
    (project / f"{name}.json").write_text(json.dumps(doc))


def test_the_eval_that_qualifies_is_on_the_target_the_prompt_runs_on(project: Path) -> None:
    base = json.loads((project / "results.json").read_text())["summary"]
    triage = next(dict(r) for r in base if r["prompt"] == "support/triage")
    elsewhere = {**triage, "target": "anthropic/claude-haiku-4-5"}
    _results_on(project, "elsewhere", [elsewhere], "2026-11-27T10:00:00Z")
    out = run_cli(project, "publish", "support/triage", "--results", "elsewhere.json")
    assert out.returncode == 1
    assert (
        "support/triage@1.2.0 has no eval result on openai/gpt-4o-mini (its primary target)"
        in out.stderr
    )
    # a newer failing one-off experiment on a target triage never uses does not block
    experiment = {**triage, "target": "mistral/large", "passed": 0, "failed": 2}
    _results_on(project, "experiment", [experiment], "2026-11-28T10:00:00Z")
    ok = run_cli(
        project,
        "publish",
        "support/triage",
        "--results",
        "results.json",
        "--results",
        "experiment.json",
    )
    assert ok.returncode == 0, ok.stderr
    bundle = json.loads(
        (project / "releases" / (project / "releases" / "latest").read_text().strip()).read_text()
    )
    assert [row["target"] for row in bundle["prompts"][0]["provenance"]["evals"]] == [
        "openai/gpt-4o-mini"
    ]


def test_eval_targets_all_also_requires_the_fallbacks(project: Path) -> None:
    out = _publish(project, "support/reply", "--eval-targets", "all")
    assert out.returncode == 1
    assert (
        "support/reply@1.0.3 has no eval result on anthropic/claude-haiku-4-5 (a target it may use)"
    ) in out.stderr
    assert _publish(project, "support/reply").returncode == 0  # default: primary only
    bad = _publish(project, "support/reply", "--eval-targets", "some")
    assert bad.returncode == 2 and "expected `primary` or `all`" in bad.stderr
