"""A model's tool calls are hostile text too: names and arguments with terminal escapes,
bidi controls, markup and formulas reach the terminal, JUnit, Markdown and CSV inert."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\rALL PASSED\x9b31m \u202eevil\x1b]8;;http://evil.test\x07link"
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

PROMPT = """\
id: demo/tools
version: 1.0.0
model:
  use: openai/gpt-4o-mini
messages:
  - user: "look it up"
tools:
  - name: lookup
    parameters: {type: object, properties: {q: {type: string}}}
tests:
  - name: calls
    assert:
      - {type: tool-call, name: lookup, arguments: {q: "x"}}
"""


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "prompts" / "demo").mkdir(parents=True)
    (tmp_path / "prompts" / "demo" / "tools.yaml").write_text(PROMPT)
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake_llm.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0}\n"
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-tools-0123456789abcdef")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    "calls",
    [
        [(HOSTILE, {"q": HOSTILE})],  # an undeclared tool with a hostile name
        [("lookup", {"q": HOSTILE, "=cmd|' /C calc'!A0": "<script>x</script>"})],
        [("lookup", "{not json " + HOSTILE)],
    ],
    ids=["name", "arguments", "not-json"],
)
def test_hostile_tool_calls_reach_every_output_inert(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    calls: list[tuple[str, object]],
    stream: bool,
) -> None:
    fake_llm.reply_tool_calls(calls)  # type: ignore[arg-type]
    args = ["test", "--junit", "j.xml", "--output", "r.json"] + (["--stream"] if stream else [])
    code, out, err = run(args, monkeypatch, capsys)
    assert code == 1, out + err  # the assertion fails: none matches
    assert not RAW_CONTROL.search(out + err), repr(out + err)
    assert "Traceback" not in out + err
    junit = (project / "j.xml").read_text(encoding="utf-8")
    assert "<script>" not in junit
    assert not RAW_CONTROL.search(junit), repr(junit)


def test_hostile_tool_calls_in_the_markdown_summary_are_inert(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = "<img src=x onerror=alert(1)>|[approve](http://evil.test)\u202e"
    fake_llm.reply_tool_calls([(name, {"q": "<script>alert(1)</script>"})])
    code, out, err = run(["test", "--format", "markdown"], monkeypatch, capsys)
    assert code == 1, out + err
    assert "<img" not in out and "<script>" not in out, out
    assert "[approve](http://evil.test)" not in out, out
    assert not RAW_CONTROL.search(out), repr(out)


@pytest.mark.parametrize("stream", [False, True])
def test_tool_call_arguments_nested_past_the_stack_are_flagged_not_raised(
    tmp_path: Path, fake_llm: FakeLLM, stream: bool
) -> None:
    """`{"a": [[[[…]]]]}` 200,000 deep: json.loads raised RecursionError out of
    `Runtime.run`/`stream`; the call is kept, flagged invalid, with why."""
    import dataclasses

    from fakes.llm_server import fake_providers
    from promptctl.promptfile.chat import ToolSpec
    from promptctl.promptfile.hashing import content_hash
    from promptctl.runtime import Runtime
    from runtime.helpers import prompt, write_bundle

    built = dataclasses.replace(
        prompt(), tools=(ToolSpec(name="f", parameters={"type": "object"}),)
    )
    built = dataclasses.replace(built, content_hash=content_hash(built))
    bundle = tmp_path / "app.bundle.json"
    write_bundle(bundle, [built], fake_providers(fake_llm, max_retries=0))
    fake_llm.reply_tool_calls([("f", '{"a":' + "[" * 200_000 + "]" * 200_000 + "}")])
    env = {"OPENAI_API_KEY": "sk-test-deep-0123456789"}
    with Runtime.load(bundle, env=env, ledger=False) as rt:
        if stream:
            result = list(rt.stream("support/triage", ticket="x"))[-1]
        else:
            result = rt.run("support/triage", ticket="x")
    (call,) = result.tool_calls  # type: ignore[union-attr]
    assert call.name == "f" and not call.arguments_valid
    assert call.arguments_error == "arguments are nested too deeply"
