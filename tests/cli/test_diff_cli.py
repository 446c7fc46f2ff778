"""`promptctl diff` and `promptctl merge` on real files, through the console entry point."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fakes.cli import invoke
from fakes.results_factory import doc_from_outcomes
from promptctl.report.diff_report import MARKER

STABLE = {f"t{i}": "PPP" for i in range(40)}  # enough to judge a 10-point drop
WORSE = {**STABLE, "t0": "FFF", "t1": "FFF", "t2": "FFF"}  # 3 hard flips: p = 20**-3


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return invoke(*args)


def _write(tmp_path: Path, name: str, doc: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def test_exit_codes(tmp_path: Path) -> None:
    base = _write(tmp_path, "base.json", doc_from_outcomes({"p": STABLE}))
    same = _write(tmp_path, "same.json", doc_from_outcomes({"p": STABLE}))
    worse = _write(tmp_path, "worse.json", doc_from_outcomes({"p": WORSE}))
    erroring = {f"t{i}": "EEE" for i in range(9)}  # 27 of 120 runs errored: 22.5% > 20%
    errors = _write(tmp_path, "errors.json", doc_from_outcomes({"p": {**STABLE, **erroring}}))
    ok = run("diff", "--base", base, "--head", same, "--format", "markdown")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[0] == "✅ promptctl: no regressions"
    failed = run("diff", "--base", base, "--head", worse)
    assert failed.returncode == 1
    assert "3 regressions in p (openai/gpt-4o-mini)" in failed.stdout
    assert run("diff", "--base", base, "--head", errors).returncode == 3
    # tolerated errors are not dropped: 9 always-passing tests now error on every run and
    # count as failing (9 worse, 0 better), so the head fails rather than passes
    tolerant = run("diff", "--base", base, "--head", errors, "--max-error-rate", "0.5")
    assert tolerant.returncode == 1
    assert "9 paired test(s) had errored runs, counted as failures" in tolerant.stdout


def test_inconclusive_exits_zero_loudly_unless_required(tmp_path: Path) -> None:
    single = _write(tmp_path, "single.json", doc_from_outcomes({"p": {"t0": "P", "t1": "P"}}))
    soft = run("diff", "--base", single, "--head", single)
    assert soft.returncode == 0
    assert "INCONCLUSIVE" in soft.stderr
    strict = run("diff", "--base", single, "--head", single, "--require-conclusive")
    assert strict.returncode == 1


def test_gate_flags_change_the_verdict(tmp_path: Path) -> None:
    base = _write(tmp_path, "base.json", doc_from_outcomes({"p": STABLE}, cost=0.001))
    head = _write(tmp_path, "head.json", doc_from_outcomes({"p": STABLE}, cost=0.0013))
    assert run("diff", "--base", base, "--head", head).returncode == 1  # +30% > 10%
    assert run("diff", "--base", base, "--head", head, "--max-cost-increase", "50").returncode == 0


def test_new_always_failing_test_fails_unless_turned_off(tmp_path: Path) -> None:
    base = _write(tmp_path, "base.json", doc_from_outcomes({"p": STABLE}))
    head = _write(tmp_path, "head.json", doc_from_outcomes({"p": {**STABLE, "brand-new": "FF"}}))
    failed = run("diff", "--base", base, "--head", head)
    assert failed.returncode == 1
    assert "new test(s) fail on every run: brand-new" in failed.stdout
    off = run("diff", "--base", base, "--head", head, "--no-fail-on-new-failures")
    assert off.returncode == 0


def test_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    good = _write(tmp_path, "good.json", doc_from_outcomes({"p": STABLE}))
    missing = run("diff", "--base", str(tmp_path / "nope.json"), "--head", good)
    assert missing.returncode == 2
    assert missing.stderr == f"error: {tmp_path / 'nope.json'}: results file not found\n"
    wrong = _write(tmp_path, "wrong.json", {"schema": "promptctl/results@0", "cases": []})
    out = run("diff", "--base", wrong, "--head", good)
    assert out.returncode == 2
    assert out.stderr.startswith("error: ") and len(out.stderr.strip().splitlines()) == 1
    assert "unsupported schema" in out.stderr
    assert run("diff", "--base", good, "--head", good, "--format", "html").returncode == 2


def test_a_tampered_results_file_is_exit_2_for_every_reader(tmp_path: Path) -> None:
    """A results file from an artifact or a pull request with a wrong type inside (found
    by fuzzing: each used to be a traceback in the gate, `report` or `merge`)."""
    good_doc = doc_from_outcomes({"p": STABLE})
    good = _write(tmp_path, "good.json", good_doc)
    tampered_doc = json.loads(json.dumps(good_doc))
    tampered_doc["cases"][3]["score"] = "weird"
    tampered = _write(tmp_path, "tampered.json", tampered_doc)
    for args in (
        ("diff", "--base", tampered, "--head", good),
        ("diff", "--base", good, "--head", tampered, "--format", "markdown"),
        ("report", tampered, "--html", str(tmp_path / "r.html")),
        ("report", good, tampered, "--html", str(tmp_path / "d.html")),
        ("merge", tampered, good, "--output", str(tmp_path / "m.json")),
    ):
        out = run(*args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert "Traceback" not in out.stdout + out.stderr
        assert f"{tampered}: invalid results document at cases/3/score" in out.stderr, args


def test_output_file_json_and_markdown(tmp_path: Path) -> None:
    base = _write(tmp_path, "base.json", doc_from_outcomes({"p": STABLE}))
    head = _write(tmp_path, "head.json", doc_from_outcomes({"p": WORSE}))
    report = tmp_path / "out" / "report.json"
    done = run("diff", "--base", base, "--head", head, "--format", "json", "-o", str(report))
    assert done.returncode == 1
    assert json.loads(report.read_text(encoding="utf-8"))["verdict"] == "fail"
    md = tmp_path / "report.md"
    run("diff", "--base", base, "--head", head, "--format", "markdown", "-o", str(md))
    assert MARKER in md.read_text(encoding="utf-8")


def test_merge_command(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.json", doc_from_outcomes({"p": {"t0": "PF"}}, run_id="a"))
    b = _write(tmp_path, "b.json", doc_from_outcomes({"q": {"t0": "P"}}, run_id="b"))
    out = tmp_path / "all.json"
    done = run("merge", a, b, "--output", str(out))
    assert done.returncode == 0, done.stderr
    merged = json.loads(out.read_text(encoding="utf-8"))
    assert len(merged["cases"]) == 3
    assert [(s["prompt"], s["passed"], s["failed"]) for s in merged["summary"]] == [
        ("p", 1, 1),
        ("q", 1, 0),
    ]
    dup = run("merge", a, a, "--output", str(out))
    assert dup.returncode == 2
    assert "duplicate case" in dup.stderr and dup.stderr.count(a) == 2


def test_comment_flag_posts_once_and_never_prints_the_token(tmp_path: Path) -> None:
    from fakes.github_api import serve

    base = _write(tmp_path, "base.json", doc_from_outcomes({"p": STABLE}))
    head = _write(tmp_path, "head.json", doc_from_outcomes({"p": WORSE}))
    token = "ghs_cli_secret_token"
    with serve(token) as gh:
        env = {
            **os.environ,
            "GITHUB_TOKEN": token,
            "GITHUB_REPOSITORY": "acme/prompts",
            "GITHUB_REF": "refs/pull/3/merge",
            "GITHUB_API_URL": gh.base_url,
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        }
        env.pop("GITHUB_EVENT_PATH", None)
        outs = [
            invoke("diff", "--base", base, "--head", h, "--comment", env=env) for h in (head, base)
        ]
    assert [o.returncode for o in outs] == [1, 0]
    assert "PR comment created" in outs[0].stderr and "PR comment updated" in outs[1].stderr
    assert all(token not in o.stdout + o.stderr for o in outs)
    (comment,) = gh.comments[3]
    assert comment["body"].startswith("✅ promptctl: no regressions")
    assert (tmp_path / "summary.md").read_text(encoding="utf-8").count(MARKER) == 2


def test_registering_diff_and_merge_stays_light() -> None:
    code = (
        "import sys, promptctl.cli.main\n"
        "heavy = ['httpx', 'deepdiff', 'rich.table', 'promptctl.evals.compare',"
        " 'promptctl.report.github']\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_limits_can_be_turned_off_and_bad_values_are_usage_errors(tmp_path: Path) -> None:
    base = _write(tmp_path, "base.json", doc_from_outcomes({"p": STABLE}, cost=0.001))
    head = _write(tmp_path, "head.json", doc_from_outcomes({"p": STABLE}, cost=0.005))
    assert run("diff", "--base", base, "--head", head).returncode == 1
    assert run("diff", "--base", base, "--head", head, "--max-cost-increase", "off").returncode == 0
    bad = run("diff", "--base", base, "--head", head, "--max-cost-increase", "lots")
    assert bad.returncode == 2 and "--max-cost-increase takes a percentage" in bad.stderr
    alpha = run("diff", "--base", base, "--head", head, "--alpha", "2")
    assert alpha.returncode == 2
    assert alpha.stderr == "error: invalid gate: alpha must be between 0 and 1, got 2.0\n"
