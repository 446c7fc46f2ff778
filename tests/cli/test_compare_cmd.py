"""`promptctl compare` through the CLI against the fake server: recommend, refuse, inconclusive,
and `--write` producing a valid, bumped prompt file."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM, Logged
from promptctl.ledger import Ledger
from promptctl.providers.types import CallContext, CallRecord, Usage


def _prompt(tests: int) -> str:
    cases = "\n".join(
        f"  - {{name: t{i}, vars: {{n: '{i}'}}, assert: [{{type: equals, value: 'answer {i}'}}]}}"
        for i in range(tests)
    )
    return (
        "id: qa/answer   # the FAQ bot\n"
        "version: 1.4.0\n"
        "description: Answer a question.\n"
        "model:\n"
        "  use: openai/gpt-4o\n"
        "  params: {temperature: 0}\n"
        "inputs:\n"
        "  n: {type: string}\n"
        "messages:\n"
        "  - user: 'Question {{ n }}'\n"
        f"tests:\n{cases}\n"
    )


def _n(logged: Logged) -> int:
    return int(json.dumps(logged.body).split("Question ")[1].split('"')[0])


def _replies(wrong: dict[str, Callable[[int], bool]]) -> Callable[[Logged], str]:
    """Right answers, except where `wrong[model](n)` says the model gets test n wrong."""

    def reply(logged: Logged) -> str:
        model = logged.body["model"]
        n = _n(logged)
        return "no idea" if wrong.get(model, lambda _: False)(n) else f"answer {n}"

    return reply


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{base_url: '{fake_llm.openai_base}', max_retries: 0}}\n"
        f"  anthropic: {{base_url: '{fake_llm.anthropic_base}', max_retries: 0}}\n"
    )
    (tmp_path / "prompts" / "qa").mkdir(parents=True)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789abcdef")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _write_prompt(project: Path, tests: int) -> Path:
    path = project / "prompts" / "qa" / "answer.yaml"
    path.write_text(_prompt(tests))
    return path


def _compare(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, object], str]:
    code, out, err = run(["compare", "qa/answer", "--format", "json", *args], monkeypatch, capsys)
    return code, json.loads(out) if out.strip().startswith("{") else {}, err


def _targets(doc: dict[str, object]) -> dict[str, dict[str, object]]:
    return {t["target"]: t for t in doc["targets"]}  # type: ignore[attr-defined,index]


def test_cheaper_non_inferior_model_is_recommended_with_the_monthly_saving(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _write_prompt(project, 40)
    # claude gets every other test wrong; gpt-4o-mini is as good as gpt-4o
    fake_llm.reply(_replies({"claude-haiku-4-5": lambda n: n % 2 == 0}))
    now = time.time()
    with Ledger(project / ".promptctl" / "ledger.sqlite") as ledger:
        for i in range(100):  # last month's production traffic: 100 calls, $1.00
            ledger.record(
                CallRecord(
                    timestamp=now - i * 3600,
                    context=CallContext(source="runtime", prompt_id="qa/answer"),
                    target="openai/gpt-4o",
                    model_reported="gpt-4o",
                    outcome="ok",
                    usage=Usage(input_tokens=1000, output_tokens=100),
                    cost_usd=0.01,
                )
            )
    code, doc, err = _compare(
        ["--candidates", "openai/gpt-4o-mini,anthropic/claude-haiku-4-5", "--margin", "0.1"],
        monkeypatch,
        capsys,
    )
    assert code == 0, err
    assert doc["recommended"] == "openai/gpt-4o-mini"
    t = _targets(doc)
    mini, claude, big = t["openai/gpt-4o-mini"], t["anthropic/claude-haiku-4-5"], t["openai/gpt-4o"]
    assert mini["test"]["verdict"] == "non-inferior"  # type: ignore[index]
    assert claude["test"]["verdict"] == "inferior"  # type: ignore[index]
    assert (big["passed"], claude["passed"]) == (40, 20)
    # fake usage is 10 in / 5 out tokens: gpt-4o $75e-6 a case, mini $4.5e-6
    assert big["cost_per_case"] == pytest.approx(75e-6)
    assert mini["cost_per_case"] == pytest.approx(4.5e-6)
    saving = doc["saving"]
    assert saving["calls"] == 100  # type: ignore[index]
    assert saving["saving_usd"] == pytest.approx(1.0 * (1 - 4.5 / 75))  # type: ignore[index]
    # every candidate call went to its own model: no fallbacks during a comparison
    models = [r.body["model"] for r in fake_llm.requests]
    assert models.count("gpt-4o") == models.count("gpt-4o-mini") == 40
    code, out, _ = run(
        [
            "compare",
            "qa/answer",
            "-c",
            "openai/gpt-4o-mini",
            "--margin",
            "0.1",
            "--format",
            "markdown",
        ],
        monkeypatch,
        capsys,
    )
    assert code == 0 and "| openai/gpt-4o-mini | 40/40 100% |" in out
    assert "**recommended: openai/gpt-4o-mini" in out


def test_a_worse_cheap_model_is_not_recommended(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _write_prompt(project, 40)
    fake_llm.reply(_replies({"gpt-4o-mini": lambda n: n < 12}))  # 12 of 40 wrong
    code, doc, _ = _compare(
        ["--candidates", "openai/gpt-4o-mini", "--margin", "0.1"], monkeypatch, capsys
    )
    assert code == 0
    assert doc["recommended"] is None
    assert doc["reason"] == "no candidate is non-inferior at a margin of 0.1"
    assert _targets(doc)["openai/gpt-4o-mini"]["test"]["verdict"] == "inferior"  # type: ignore[index]
    code, _, err = run(
        ["compare", "qa/answer", "-c", "openai/gpt-4o-mini", "--margin", "0.1", "--write"],
        monkeypatch,
        capsys,
    )
    assert code == 1 and "nothing to write" in err
    assert "use: openai/gpt-4o\n" in (project / "prompts/qa/answer.yaml").read_text()


def test_a_tiny_suite_is_inconclusive_and_says_how_many_tests_it_needs(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _write_prompt(project, 3)
    fake_llm.reply(_replies({}))
    code, doc, _ = _compare(["--candidates", "openai/gpt-4o-mini"], monkeypatch, capsys)
    assert code == 0 and doc["recommended"] is None
    test = _targets(doc)["openai/gpt-4o-mini"]["test"]
    assert test["verdict"] == "inconclusive" and test["pairs"] == 3  # type: ignore[index]
    needed = test["tests_needed"]  # type: ignore[index]
    assert isinstance(needed, int) and needed > 100  # a 2-point margin needs many tests
    assert doc["reason"] == f"inconclusive: openai/gpt-4o-mini needs about {needed} tests (has 3)"


def test_write_switches_the_model_keeps_the_old_as_fallback_and_bumps(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _write_prompt(project, 40)
    fake_llm.reply(_replies({}))
    code, out, err = run(
        ["compare", "qa/answer", "-c", "openai/gpt-4o-mini", "--margin", "0.1", "--write"],
        monkeypatch,
        capsys,
    )
    assert code == 0, err
    assert "version 1.4.0 -> 1.4.1" in out
    text = path.read_text()
    assert text.startswith("id: qa/answer   # the FAQ bot\nversion: 1.4.1\n")  # comment kept
    assert "  use: openai/gpt-4o-mini\n  fallbacks: [openai/gpt-4o]\n" in text
    assert text.replace("1.4.1", "1.4.0").replace(
        "  use: openai/gpt-4o-mini\n  fallbacks: [openai/gpt-4o]\n", "  use: openai/gpt-4o\n"
    ) == _prompt(40)  # nothing else changed
    code, out, _ = run(["lint", "--no-version-check", "--format", "json"], monkeypatch, capsys)
    assert code == 0 and json.loads(out)["summary"]["errors"] == 0


def test_bad_input(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_prompt(project, 3)
    code, _, err = run(["compare", "qa/answer"], monkeypatch, capsys)
    assert code == 2 and "no candidate targets (pass --candidates" in err
    code, _, err = run(["compare", "qa/answer", "-c", "openai/gpt-4o"], monkeypatch, capsys)
    assert code == 2 and "openai/gpt-4o is the prompt's own target (the primary)" in err
    code, _, err = run(["compare", "qa/answer", "-c", "nope/x"], monkeypatch, capsys)
    assert code == 2 and "unknown provider 'nope'" in err
    code, _, err = run(["compare", "qa/missing", "-c", "openai/gpt-4o-mini"], monkeypatch, capsys)
    assert code == 2 and "qa/missing" in err


def test_repeats_and_an_unpriced_candidate(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With --repeat a pair is two pass rates; a good candidate without a price is not
    recommended, and the reason says what to add."""
    _write_prompt(project, 30)
    with (project / "promptctl.yaml").open("a") as config:
        config.write(f"  local: {{kind: openai-compatible, base_url: '{fake_llm.openai_base}'}}\n")
    fake_llm.reply(_replies({}))
    code, doc, err = _compare(
        ["-c", "local/llama-3-70b", "--margin", "0.1", "--repeat", "2"], monkeypatch, capsys
    )
    assert code == 0, err
    local = _targets(doc)["local/llama-3-70b"]
    assert local["passed"] == 60 and local["cost_per_case"] is None
    assert local["test"]["method"].startswith("Tango")  # type: ignore[index]
    assert doc["recommended"] is None
    assert doc["reason"] == (
        "non-inferior but of unknown cost: local/llama-3-70b; add a price under `pricing:`"
    )


def test_flaky_repeats_use_the_paired_t_bound(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _write_prompt(project, 30)
    seen: dict[int, int] = {}

    def reply(logged: Logged) -> str:
        n = _n(logged)
        if logged.body["model"] == "gpt-4o-mini" and n < 10:
            seen[n] = seen.get(n, 0) + 1
            if seen[n] % 2 == 0:  # every second repeat of the first ten tests is wrong
                return "no idea"
        return f"answer {n}"

    fake_llm.reply(reply)
    code, doc, err = _compare(
        ["-c", "openai/gpt-4o-mini", "--margin", "0.1", "--repeat", "2", "--no-cache"],
        monkeypatch,
        capsys,
    )
    assert code == 0, err
    test = _targets(doc)["openai/gpt-4o-mini"]["test"]
    assert test["method"].startswith("paired t")  # type: ignore[index]
    assert test["delta"] == pytest.approx(-10 * 0.5 / 30)  # type: ignore[index]
    assert test["verdict"] != "non-inferior" and doc["recommended"] is None  # type: ignore[index]


def test_a_retiring_primary_is_compared_with_its_replacement_by_default(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _write_prompt(project, 40)
    path.write_text(path.read_text().replace("openai/gpt-4o\n", "anthropic/claude-opus-4-5\n"))
    monkeypatch.setenv("PROMPTCTL_TODAY", "2026-12-05")  # 48 days before its shutdown
    fake_llm.reply(_replies({}))
    code, doc, err = _compare(["--margin", "0.1"], monkeypatch, capsys)
    assert code == 0, err
    assert "anthropic/claude-opus-4-5 is retiring: comparing with its replacement" in err
    assert [t["target"] for t in doc["targets"]] == [  # type: ignore[attr-defined]
        "anthropic/claude-opus-4-5",
        "anthropic/claude-opus-5-5",
    ]
