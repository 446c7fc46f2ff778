"""End to end through git, the runner and the fake server's noisy model: the gate holds
when base and head have the same true pass rates and fails on a 15-point drop.

One seeded run each (the false-alarm and power rates over many seeded runs are measured
on results documents in tests/evals/test_gate_simulation.py and bench/gate_simulation.py).
Each test has a true pass probability; the fake answers "ok" with that probability, drawn
from a generator seeded by (seed, prompt side, test, n-th call), so a run is reproducible
whatever order the concurrent requests arrive in.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM, Logged
from fakes.prompt_repo import git

# 60 tests x 3 repeats a side: the drop is found and the equal run holds for every seed
# tried (1-7, 11); the rates behind that are measured in test_gate_simulation.py
N_TESTS = 60
REPEATS = 3
SEED = 11


def _prompt(system: str) -> str:
    tests = "".join(
        f"  - name: t{i}\n    vars: {{n: '{i}'}}\n    assert: [{{type: equals, value: ok}}]\n"
        for i in range(N_TESTS)
    )
    return (
        "id: noisy/judge\nversion: 1.0.0\nmodel:\n  use: openai/gpt-4o-mini\n"
        f"inputs:\n  n: {{type: string}}\nmessages:\n  - system: {system}\n"
        "  - user: 'case {{ n }}'\ntests:\n" + tests
    )


class NoisyModel:
    """Answers "ok" with the test's true pass probability on this side of the change."""

    def __init__(self, drop: float) -> None:
        rates = random.Random(SEED).choices([0.97, 0.9, 0.7, 0.5], k=N_TESTS)
        self.base = rates
        self.head = [max(0.0, p - drop) for p in rates]
        self._calls: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def __call__(self, logged: Logged) -> str:
        system = str(logged.body["messages"][0]["content"])
        test = str(logged.body["messages"][-1]["content"]).removeprefix("case ")
        with self._lock:
            self._calls[(system, test)] += 1
            nth = self._calls[(system, test)]
        side = "head" if "new" in system else "base"
        p = (self.head if side == "head" else self.base)[int(test)]
        draw = random.Random(f"{SEED}:{side}:{test}:{nth}").random()
        return "ok" if draw < p else "no"


@pytest.fixture
def repo(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "noisy"
    (root / "prompts" / "noisy").mkdir(parents=True)
    (root / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake_llm.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0, timeout_s: 5}\n"
        "gate: {max_cost_increase_pct: null}\n"
    )
    (root / ".gitignore").write_text(".promptctl/\n")
    path = root / "prompts" / "noisy" / "judge.yaml"
    path.write_text(_prompt("old wording"))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    path.write_text(_prompt("new wording"))  # the head: uncommitted, in the working tree
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-noise-0123456789abcdef")
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)
    monkeypatch.chdir(root)
    return root


@pytest.mark.parametrize(("drop", "expected"), [(0.0, 0), (0.15, 1)], ids=["equal", "drop15"])
def test_gate_on_a_noisy_model(
    repo: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    drop: float,
    expected: int,
) -> None:
    fake_llm.reply(NoisyModel(drop))
    code, out, err = run(
        ["diff", "--repeat", str(REPEATS), "--no-cache", "--concurrency", "32"], monkeypatch, capsys
    )
    assert code == expected, out + err
    first = out.splitlines()[0]
    if expected:  # a significant drop, named with its exact test
        assert first.startswith("❌ promptctl: ") and "in noisy/judge (openai/gpt-4o-mini)" in first
        assert "pass rate dropped" in out and "exact one-sided p=" in out
    else:  # holds: with this much noise 60 tests cannot rule out a 10-point drop
        assert first.startswith(("✅", "⚠️ promptctl: inconclusive")), first
    assert fake_llm.calls["openai"] == 2 * N_TESTS * REPEATS
