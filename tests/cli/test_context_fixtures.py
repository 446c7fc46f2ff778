"""`context:` fixtures and `degraded:` sources in tests, through `promptctl test`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM

PROMPT = """\
id: crm/reply
version: 1.0.0
model:
  use: openai/gpt-4o-mini
  params: {temperature: 0, max_tokens: 50}
inputs:
  ticket: {type: string}
  customer: {type: object}
  policy: {type: string, default: "standard policy"}
messages:
  - system: "Policy: {{ policy }}"
  - user: "{{ customer.name }}: {{ ticket }}"
tests:
  - name: recorded
    vars: {ticket: where is it}
    context:
      customer: {name: Ada}
      policy: gold policy
    assert: [{type: contains, value: gold}]
  - name: policy down
    vars: {ticket: where is it}
    context:
      customer: {name: Ada}
      policy: gold policy
    degraded: [policy]
    assert: [{type: contains, value: standard}]
  - name: crm down
    vars: {ticket: where is it}
    context:
      customer: {name: Ada}
    degraded: [customer]
    assert: [{type: contains, value: x}]
"""


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake_llm.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0, timeout_s: 10}\n"
    )
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "reply.yaml").write_text(PROMPT)
    fake_llm.reply(lambda logged: str(logged.body["messages"][0]["content"]))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-cli-0123456789abcdef")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_context_fixtures_and_degraded_sources(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _out, err = run(["test", "--output", "r.json", "--no-cache"], monkeypatch, capsys)
    doc = json.loads((project / "r.json").read_text())
    cases = {c["test"]: c for c in doc["cases"]}
    assert cases["recorded"]["status"] == "pass"  # the recorded policy was sent
    assert cases["policy down"]["status"] == "pass"  # the input's default was sent
    sent = [r.body["messages"] for r in fake_llm.requests]
    # the cases run concurrently: their requests arrive in any order
    assert sorted(m[0]["content"] for m in sent) == [
        "Policy: gold policy",
        "Policy: standard policy",
    ]
    assert all(m[1]["content"] == "Ada: where is it" for m in sent)
    # a required input whose source is down fails the case, as ContextError fails a call
    crm = cases["crm down"]
    assert crm["status"] == "error" and "customer" in crm["error"]["message"]
    assert code != 0, err


def test_degraded_must_name_an_input(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = PROMPT.replace("degraded: [policy]", "degraded: [polcy]")
    (project / "prompts" / "reply.yaml").write_text(text)
    code, out, err = run(["lint"], monkeypatch, capsys)
    assert code == 1
    assert "tests[1].degraded: 'polcy' is not an input of this prompt" in out + err


DATASET_PROMPT = PROMPT.split("tests:\n")[0] + "tests:\n  - dataset: rows.EXT\n"


def _dataset_project(project: Path, ext: str, text: str) -> None:
    (project / "prompts" / "reply.yaml").write_text(DATASET_PROMPT.replace("EXT", ext))
    (project / "prompts" / f"rows.{ext}").write_text(text)


@pytest.mark.parametrize("ext", ["jsonl", "csv"])
def test_dataset_rows_take_context_fixtures_and_degraded_sources(
    ext: str,
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if ext == "jsonl":
        rows = [
            {"name": "recorded", "vars": {"ticket": "hi"}}
            | {"context": {"customer": {"name": "Ada"}, "policy": "gold policy"}},
            {"name": "policy down", "vars": {"ticket": "hi"}}
            | {"context": {"customer": {"name": "Ada"}, "policy": "gold"}, "degraded": ["policy"]},
            {"name": "crm down", "vars": {"ticket": "hi"}, "degraded": ["customer"]},
        ]
        text = "\n".join(json.dumps(r) for r in rows) + "\n"
    else:
        text = (
            "_name,ticket,_context,_degraded\n"
            'recorded,hi,"{""customer"": {""name"": ""Ada""}, ""policy"": ""gold policy""}",\n'
            'policy down,hi,"{""customer"": {""name"": ""Ada""}, ""policy"": ""gold""}",policy\n'
            "crm down,hi,,customer\n"
        )
    _dataset_project(project, ext, text)
    code, _out, err = run(["test", "--output", "r.json", "--no-cache"], monkeypatch, capsys)
    cases = {c["test"]: c for c in json.loads((project / "r.json").read_text())["cases"]}
    sent = [r.body["messages"] for r in fake_llm.requests]
    assert sorted(m[0]["content"] for m in sent) == [
        "Policy: gold policy",
        "Policy: standard policy",
    ]
    assert all(m[1]["content"] == "Ada: hi" for m in sent)
    assert cases["recorded"]["status"] == cases["policy down"]["status"] == "pass"
    crm = cases["crm down"]
    assert crm["status"] == "error" and "customer" in crm["error"]["message"]
    assert code != 0, err


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ('{"vars": {"ticket": "a"}, "degraded": ["polcy"]}', "degraded: 'polcy' is not an input"),
        ('{"vars": {"ticket": "a"}, "degraded": "policy"}', "`degraded` must be a list"),
        ('{"vars": {"ticket": "a"}, "context": ["Ada"]}', "`context` must be an object"),
    ],
)
def test_a_bad_dataset_fixture_is_one_line_at_its_row(
    row: str,
    message: str,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _dataset_project(project, "jsonl", '{"vars": {"ticket": "ok"}}\n' + row + "\n")
    code, out, err = run(["lint"], monkeypatch, capsys)
    assert code == 1
    (line,) = [x for x in (out + err).splitlines() if message in x]
    assert line.split()[0] == "2:1" and "prompts/rows.jsonl" in out + err  # file, then line


def test_a_bad_context_cell_in_a_csv_dataset(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _dataset_project(project, "csv", "ticket,_context\nhi,{not json}\n")
    code, out, err = run(["lint"], monkeypatch, capsys)
    assert code == 1
    (line,) = [x for x in (out + err).splitlines() if "invalid JSON in `_context` column" in x]
    assert line.split()[0] == "2:1" and "prompts/rows.csv" in out + err
