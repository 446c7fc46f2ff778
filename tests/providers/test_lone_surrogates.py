"""A provider's answer holding a lone UTF-16 surrogate (`"\\ud800"` in its JSON): no UTF-8
holds one, so the results file could not be written (the run ended in a traceback after
the answer was paid). Read as U+FFFD (providers/base.loads_clean)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM
from promptctl.promptfile.json_text import loads_clean


def test_lone_surrogates_are_replaced_and_everything_else_kept() -> None:
    body = json.dumps({"a": "x\ud800y", "b": "\ud83d\ude00", "c": ["\udfff"], "\udc80": 1})
    assert "\\ud800" in body  # as a provider sends it: an ASCII escape
    data = loads_clean(body.encode())
    assert data == {"a": "x\ufffdy", "b": "😀", "c": ["\ufffd"], "\ufffd": 1}
    assert loads_clean(body) == data  # a stream's event text, the same
    assert loads_clean(b'{"a": "\xed\xa0\x80"}') == {"a": "\ufffd"}  # the bytes of one
    korean = json.dumps({"k": "한국어"}, ensure_ascii=False).encode()  # \xed, not a surrogate
    assert loads_clean(korean) == {"k": "한국어"}


def _project(
    root: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch, answer: str, test: str = ""
) -> None:
    """A project of one prompt with one test (`test`: more of its YAML) answered `answer`
    by the fake provider, as the current folder."""
    (root / "prompts").mkdir()
    (root / "promptctl.yaml").write_text(
        f"providers:\n  openai: {{kind: openai, base_url: '{fake_llm.openai_base}'}}\n"
    )
    (root / "prompts" / "p.yaml").write_text(
        "id: s/x\nversion: 1.0.0\nmodel: {use: openai/gpt-4o-mini}\nmessages:\n"
        f"  - user: hi\ntests:\n  - name: t{test}\n"
    )
    fake_llm.reply(answer)
    monkeypatch.chdir(root)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-surrogate-0123456789")


@pytest.mark.parametrize("stream", [False, True])
def test_an_answer_with_a_lone_surrogate_is_scored_and_written(
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stream: bool,
) -> None:
    _project(
        tmp_path, fake_llm, monkeypatch, "a\ud800b", "\n    assert: [{type: contains, value: b}]"
    )
    args = ["test", "--no-cache", "--output", "out.json", *(["--stream"] if stream else [])]
    code, out, err = run(args, monkeypatch, capsys)
    assert "Traceback" not in out + err
    assert code == 0, out + err
    (case,) = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["cases"]
    assert case["output"] == "a\ufffdb" and case["status"] == "pass"
    assert fake_llm.calls["openai"] == 1


def test_a_results_file_holding_a_lone_surrogate_is_reported(
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A results file from an artifact with `"\\ud800"` in an output: the HTML report
    could not be written (a UnicodeEncodeError traceback)."""
    _project(tmp_path, fake_llm, monkeypatch, "plain")
    code, out, err = run(["test", "--no-cache", "--output", "out.json"], monkeypatch, capsys)
    assert code == 0, out + err
    text = (tmp_path / "out.json").read_text(encoding="utf-8")
    assert '"output": "plain"' in text
    (tmp_path / "tampered.json").write_text(text.replace('"plain"', '"pl\\ud800ain"'))
    code, out, err = run(["report", "tampered.json", "--html", "r.html"], monkeypatch, capsys)
    assert "Traceback" not in out + err
    assert code == 0, out + err
    assert "pl\ufffdain" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_a_dataset_row_holding_a_lone_surrogate_is_read_as_its_replacement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`{"vars": {"q": "a\\ud800b"}}` in a JSONL dataset ended `lint` and `test` in a
    UnicodeEncodeError traceback."""
    (tmp_path / "prompts").mkdir()
    (tmp_path / "evals").mkdir()
    (tmp_path / "promptctl.yaml").write_text("providers: {}\n")
    (tmp_path / "evals" / "rows.jsonl").write_text('{"name": "r1", "vars": {"q": "a\\ud800b"}}\n')
    (tmp_path / "prompts" / "p.yaml").write_text(
        "id: d/x\nversion: 1.0.0\nmodel: {use: openai/gpt-4o-mini}\ninputs:\n"
        "  q: {type: string}\nmessages:\n  - user: '{{ q }}'\ntests:\n"
        "  - dataset: ../evals/rows.jsonl\n"
    )
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["lint", "--no-version-check"], monkeypatch, capsys)
    assert "Traceback" not in out + err and code == 0, out + err
    code, out, err = run(["render", "d/x", "--test", "r1", "--format", "json"], monkeypatch, capsys)
    assert "Traceback" not in out + err and code == 0, out + err
    assert json.loads(out)["messages"][-1]["content"] == "a\ufffdb"


def test_a_recording_holding_a_lone_surrogate_replays_as_its_replacement(
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Recordings come with pull requests: one edited to hold `"\\ud800"` ended the
    replayed run in a UnicodeEncodeError traceback (found by tools/fuzz_inputs.py)."""
    _project(tmp_path, fake_llm, monkeypatch, "plain")
    code, out, err = run(["test", "--mode", "record"], monkeypatch, capsys)
    assert code == 0, out + err
    (recording,) = (tmp_path / "evals" / "recordings").rglob("*.json")
    recording.write_text(recording.read_text().replace('"plain"', '"pl\\ud800ain"'))
    args = ["test", "--mode", "replay", "--output", "out.json"]
    code, out, err = run(args, monkeypatch, capsys)
    assert "Traceback" not in out + err and code == 0, out + err
    (case,) = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["cases"]
    assert case["output"] == "pl\ufffdain"
