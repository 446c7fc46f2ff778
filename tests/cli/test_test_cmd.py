"""`promptctl test` through the real entry point, against the fake provider server."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fakes.cli import invoke, run
from fakes.llm_server import FakeLLM, Logged

REPO = Path(__file__).resolve().parents[2]

PROMPT = """\
id: demo/qa
version: 1.0.0
model:
  use: openai/gpt-4o-mini
  params: {temperature: 0, max_tokens: 50}
inputs:
  q: {type: string}
messages:
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
  - name: sun
    vars: {q: sun}
    assert:
      - {type: icontains, value: SUN}
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
    fake_llm.reply(lambda logged: f"the {_q(logged)} is lovely")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-cli-0123456789abcdef")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _q(logged: Logged) -> str:
    return str(logged.body["messages"][-1]["content"]).removeprefix("Q: ")


def test_failures_exit_1_with_reason_output_results_and_junit(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        ["test", "--output", "r.json", "--junit", "junit.xml"], monkeypatch, capsys
    )
    assert code == 1, err
    assert "FAIL demo/qa @ openai/gpt-4o-mini › sea" in out
    assert "'mountain'" in out and "output: the sea is lovely" in out
    assert "2 passed, 1 failed" in out
    assert "testing" not in err  # stderr is not a terminal here: no progress bar
    doc = json.loads((project / "r.json").read_text())
    assert [c["status"] for c in doc["cases"]] == ["pass", "fail", "pass"]
    suites = ET.parse(project / "junit.xml").getroot()
    assert suites.get("tests") == "3" and suites.get("failures") == "1"
    failure = suites.find("./testsuite/testcase[@name='sea']/failure")
    assert failure is not None and "mountain" in (failure.get("message") or "")
    runs = list((project / ".promptctl" / "runs").glob("*.json"))
    assert len(runs) == 1 and json.loads(runs[0].read_text())["cases"] == doc["cases"]


def test_selection_by_test_glob_exits_0(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["test", "demo/*", "--test", "s[ku]*", "--quiet"], monkeypatch, capsys)
    assert code == 0
    assert "2 passed, 0 failed" in out


def test_provider_errors_exit_3(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for _ in range(2):
        fake_llm.error(500)
    code, out, _ = run(["test", "--test", "s[ku]*", "--no-cache"], monkeypatch, capsys)
    # "sky" and "sun" each get a 500 (no retries): errors without failures -> 3
    assert code == 3, out
    assert "ERROR demo/qa" in out and "server" in out


def test_missing_key_names_the_variable_exit_3(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    code, out, _ = run(["test", "--test", "sky"], monkeypatch, capsys)
    assert code == 3
    assert "OPENAI_API_KEY is not set" in out


def test_shards_partition_the_cases(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    keys: list[str] = []
    for i in (1, 2):
        run(["test", "--shard", f"{i}/2", "-o", f"s{i}.json"], monkeypatch, capsys)
        doc = json.loads((project / f"s{i}.json").read_text())
        assert doc["run"]["shard"] == f"{i}/2"
        keys += [c["key"] for c in doc["cases"]]
    assert sorted(keys) == sorted(
        f"demo/qa::openai/gpt-4o-mini::{t}::0" for t in ("sky", "sea", "sun")
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["test", "nope/*"], "no prompt matches nope/* (run `promptctl list`"),
        (["test", "demo"], "no prompt matches demo (did you mean 'demo/*'? (1 prompt(s) under"),
        (["test", "demo/"], "did you mean 'demo/*'?"),
        (["test", "--mode", "sometimes"], "unknown --mode"),
        (["test", "--shard", "3/2"], "invalid shard"),
        (["test", "--repeat", "0"], "--repeat"),
        (["test", "--output", "prompts"], "is a directory"),
        (["test", "--target", "gpt-4o"], "is not provider/model"),
        (["test", "--target", "nobody/model-x"], "unknown provider 'nobody'"),
        (["test", "--junit", "prompts/demo/qa.yaml/x.xml"], "cannot write"),
    ],
)
def test_bad_input_exits_2(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    code, _, err = run(args, monkeypatch, capsys)
    assert code == 2
    assert message in err
    assert fake_llm.calls["openai"] == 0  # refused before any call


def test_invalid_prompt_file_exits_2_with_location(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (project / "prompts" / "demo" / "broken.yaml").write_text(
        "id: demo/broken\nversion: 1.0.0\nmodel: {use: openai/gpt-4o-mini}\n"
        "messages:\n  - user: hi\nsurprise: 1\n"
    )
    code, _, err = run(["test"], monkeypatch, capsys)
    assert code == 2
    assert "broken.yaml:6:1" in err
    assert fake_llm.calls["openai"] == 0


def test_demo_replays_offline_from_committed_recordings(tmp_path: Path) -> None:
    """`promptctl test --mode replay` on this repository: no key, no network, all pass."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["HOME"] = str(tmp_path)
    out = tmp_path / "demo.json"
    proc = invoke("test", "--mode", "replay", "--quiet", "--output", str(out), cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(out.read_text())
    assert len(doc["cases"]) == 12
    assert {c["status"] for c in doc["cases"]} == {"pass"}
    assert all(c["cached"] for c in doc["cases"])


def test_progress_bar_shows_counts_and_cost_on_a_terminal() -> None:
    import io

    from rich.console import Console

    from promptctl.cli.test import _ProgressBar
    from promptctl.evals.results import CaseResult

    buffer = io.StringIO()
    bar = _ProgressBar(Console(file=buffer, force_terminal=True, width=120))
    bar.start(3)
    for status in ("pass", "fail", "pass"):
        row = CaseResult("k", "p", "1.0.0", "h", "openai/m", "t", 0, status)
        bar.advance(row, 0.0123)
    bar._progress.refresh()
    bar.stop()
    text = buffer.getvalue()
    assert "3/3" in text
    assert "2 passed" in text and "1 failed" in text and "$0.0123" in text


LOCAL_PROMPT = """\
id: demo/local
version: 1.0.0
model:
  use: local/llama3
  params: {max_tokens: 20}
  fallbacks: [anthropic/claude-haiku-4-5]
messages:
  - user: "say sky"
tests:
  - name: one
    assert: [{type: contains, value: sky}]
  - name: two
    assert: [{type: contains, value: sky}]
"""


def test_summary_names_the_fallback_and_the_unpriced_local_model(
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A priceless local model fails once with 503; the Anthropic fallback answers that case."""
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        f"  local: {{kind: openai-compatible, base_url: '{fake_llm.openai_base}',"
        " max_retries: 0, timeout_s: 2}\n"
        f"  anthropic: {{kind: anthropic, base_url: '{fake_llm.anthropic_base}',"
        " api_key_env: ANTHROPIC_API_KEY, max_retries: 0, timeout_s: 2}\n"
    )
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "local.yaml").write_text(LOCAL_PROMPT)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789abcdef")
    monkeypatch.chdir(tmp_path)
    fake_llm.reply("sky!")
    fake_llm.error(503, message="overloaded", wire="openai")
    code, out, err = run(["test", "--concurrency", "1", "--no-cache"], monkeypatch, capsys)
    assert code == 0, out + err
    lines = out.splitlines()
    assert (
        "demo/local (local/llama3): 1 case answered by a fallback "
        "(anthropic/claude-haiku-4-5 after local/llama3: overloaded)"
    ) in lines
    assert lines.count("no price for local/llama3: add it under `pricing:` in promptctl.yaml") == 1
    row = next(line for line in lines if line.startswith("demo/local@1.0.0"))
    assert "$0.0000 " not in row and "(+1 unpriced)" in row


def test_stream_flag_streams_every_case_and_records_ttft(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prompt = PROMPT.replace(
        "      - {type: icontains, value: SUN}",
        "      - {type: icontains, value: SUN}\n      - {type: ttft, max: 0}",
    )
    (project / "prompts" / "demo" / "qa.yaml").write_text(prompt)
    fake_llm.stream_delay_s = 0.01
    code, out, err = run(["test", "--stream", "--output", "r.json"], monkeypatch, capsys)
    assert code == 1, err
    assert "time to first token" in out and "> max 0 ms" in out
    doc = json.loads((project / "r.json").read_text())
    assert all(c["ttft_ms"] > 0 for c in doc["cases"])
    outputs = [c["output"] for c in doc["cases"]]
    assert outputs == [f"the {q} is lovely" for q in ("sky", "sea", "sun")]
    assert all(r.body["stream"] is True for r in fake_llm.requests)
    # without --stream the same assertion says how to measure it
    code, out, _ = run(["test", "--no-cache", "--test", "sun"], monkeypatch, capsys)
    assert code == 1 and "the case was not streamed" in out


def test_stream_and_batch_together_are_a_usage_error(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(["test", "--stream", "--batch"], monkeypatch, capsys)
    assert code == 2 and "--batch and --stream cannot be combined" in err
    assert fake_llm.requests == []


def test_the_callers_gc_state_is_left_as_it_was(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An application (or a test runner) that froze its heap keeps it frozen (a
    `gc.unfreeze` would thaw theirs too), one that did not finds nothing frozen, and the
    collector's thresholds are restored after the run's own."""
    import gc

    thresholds = gc.get_threshold()
    gc.freeze()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    code, _, err = run(["test", "--quiet"], monkeypatch, capsys)
    assert code == 1, err
    # objects freed by refcount leave the frozen set; a thaw (`gc.unfreeze`) leaves none
    assert gc.get_freeze_count() > 0.9 * frozen and gc.get_threshold() == thresholds
    gc.unfreeze()
    try:
        code, _, err = run(["test", "--quiet"], monkeypatch, capsys)
        assert code == 1, err
        assert gc.get_freeze_count() == 0 and gc.get_threshold() == thresholds
    finally:
        gc.freeze()  # as the suite's conftest left it


def test_nothing_listening_at_the_base_url_says_to_check_the_server(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every case failed to connect: exit 3, and a hint at the server and its base_url;
    a run where some cases were answered gets no such hint."""
    import socket

    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = (project / "promptctl.yaml").read_text()
    (project / "promptctl.yaml").write_text(
        config.replace(fake_llm.openai_base, f"http://127.0.0.1:{port}/v1")
    )
    code, out, err = run(["test", "--no-cache"], monkeypatch, capsys)
    assert code == 3, out + err
    assert "ConnectError" in out + err
    assert "hint: no provider could be reached: is the server running" in err
    (project / "promptctl.yaml").write_text(config)
    fake_llm.drop()  # one case cut off (whichever comes first), the others answered
    code, out, err = run(["test", "--no-cache"], monkeypatch, capsys)
    assert ", 1 errored" in out and "network" in out, out
    assert code != 0 and "no provider could be reached" not in err, out + err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--test", "skies"], "no test matches --test 'skies'"),
        (["--tag", "nightly"], "no test matches --tag nightly"),
        (["--tag", "nightly", "--test", "s*"], "no test matches --tag nightly and --test 's*'"),
    ],
)
def test_a_filter_that_selects_no_test_is_exit_2_not_a_pass(
    args: list[str],
    message: str,
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A mistyped `--test` in CI must not pass as "nothing failed"; a matching one runs."""
    code, _, err = run(["test", *args], monkeypatch, capsys)
    assert code == 2 and message in err, err
    assert fake_llm.calls["openai"] == 0
    code, out, err = run(["test", "--test", "s*"], monkeypatch, capsys)
    assert code == 1 and "sky" not in out and "sea" in out, out + err  # sea fails, sun passes
