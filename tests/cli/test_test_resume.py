"""`promptctl test` when the provider dies mid-run, and the re-run once it is back."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from test_test_cmd import PROMPT

from fakes.cli import run
from fakes.llm_server import FakeLLM, Logged


def _q(logged: Logged) -> str:
    return str(logged.body["messages"][-1]["content"]).removeprefix("Q: ")


def _config(root: Path, fake: FakeLLM) -> None:
    (root / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0, timeout_s: 2}\n"
    )


def test_server_dying_mid_run_writes_partial_results_and_the_rerun_resumes(
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _config(tmp_path, fake_llm)
    (tmp_path / "prompts" / "demo").mkdir(parents=True)
    (tmp_path / "prompts" / "demo" / "qa.yaml").write_text(PROMPT)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-cli-0123456789abcdef")
    monkeypatch.chdir(tmp_path)

    def dies_after_sky(logged: Logged) -> str:
        if _q(logged) == "sky":
            return "the sky is lovely"
        threading.Thread(target=fake_llm.stop).start()  # no new connections from now on
        raise ConnectionResetError("server gone")  # and this one closes unanswered

    fake_llm.reply(dies_after_sky)
    code, out, err = run(["test", "--output", "r.json", "--quiet"], monkeypatch, capsys)
    assert code == 3, out + err
    assert "Traceback" not in out + err
    doc = json.loads((tmp_path / "r.json").read_text())
    by_test = {c["test"]: c for c in doc["cases"]}
    assert by_test["sky"]["status"] == "pass"
    assert {by_test[t]["status"] for t in ("sea", "sun")} == {"error"}
    assert {by_test[t]["error"]["kind"] for t in ("sea", "sun")} == {"network"}

    back = FakeLLM().start()  # the provider is back (at a new address)
    try:
        back.reply(lambda logged: f"the {_q(logged)} is lovely")
        _config(tmp_path, back)
        code, out, err = run(["test", "--output", "r.json", "--quiet"], monkeypatch, capsys)
        asked = sorted(_q(r) for r in back.requests)
    finally:
        back.stop()
    assert asked == ["sea", "sun"]  # "sky" came from the cache
    assert code == 1, out + err  # "sea" fails its assertion; no errors left
    doc = json.loads((tmp_path / "r.json").read_text())
    assert [c["status"] for c in doc["cases"]] == ["pass", "fail", "pass"]
    assert [c["cached"] for c in doc["cases"]] == [True, False, False]
