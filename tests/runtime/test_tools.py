"""Tool calls and structured output through `Runtime.run`, on each wire of the fake."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.llm_server import FakeLLM, Logged, fake_providers
from promptctl.promptfile.chat import ToolSpec
from promptctl.promptfile.hashing import content_hash
from promptctl.promptfile.model import MessageTemplate, OutputSpec, Prompt
from promptctl.runtime import Runtime

from .helpers import prompt, write_bundle

WEATHER = ToolSpec(
    "get_weather",
    "The weather in a city.",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
)
TARGETS = ("openai/gpt-4o-mini", "anthropic/claude-haiku-4-5", "gemini/gemini-2.5-flash")


def _with_tools(use: str) -> Prompt:
    base = prompt(
        "assistant",
        use=use,
        template="{{ question }}",
        inputs={"question": {"type": "string"}, "history": {"type": "array", "default": []}},
    )
    messages = (
        base.messages[0],
        MessageTemplate(role="user", template="{{ question }}"),
        MessageTemplate(role=None, history_var="history"),
    )
    built = dataclasses.replace(base, messages=messages, tools=(WEATHER,), tool_choice="auto")
    return dataclasses.replace(built, content_hash=content_hash(built))


@pytest.fixture
def runtime(tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str]) -> Iterator[Runtime]:
    path = tmp_path / "app.bundle.json"
    prompts = [_with_tools(use) for use in TARGETS[:1]]
    prompts += [
        dataclasses.replace(p, id=f"assistant-{p.model.use.split('/')[0]}")
        for p in map(_with_tools, TARGETS[1:])
    ]
    json_prompt = prompt(
        "extract",
        use="anthropic/claude-haiku-4-5",
        output=OutputSpec(
            format="json",
            schema={
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {"name": {"type": "string"}},
            },
        ),
    )
    write_bundle(path, [*prompts, json_prompt], fake_providers(fake_llm, max_retries=0))
    with Runtime.load(path, env=fake_env, ledger=False) as runtime:
        yield runtime


@pytest.mark.parametrize("ref", ["assistant", "assistant-anthropic", "assistant-gemini"])
def test_a_tool_loop_continues_through_history(
    ref: str, runtime: Runtime, fake_llm: FakeLLM
) -> None:
    def calls(logged: Logged) -> list[tuple[str, dict[str, object] | str]] | None:
        text = json.dumps(logged.body)
        return None if "21" in text else [("get_weather", {"city": "Paris"})]

    fake_llm.reply_tool_calls(calls)
    fake_llm.reply("It is 21 degrees in Paris.")
    first = runtime.run(ref, question="Weather in Paris?")
    (call,) = first.tool_calls
    assert (call.name, dict(call.arguments), call.arguments_valid) == (
        "get_weather",
        {"city": "Paris"},
        True,
    )
    assert first.finish_reason == "tool_calls" and first.ok and first.text == ""
    history = [
        {"role": "assistant", "content": first.text, "tool_calls": [call.to_dict()]},
        {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": '{"temp_c": 21}'},
    ]
    second = runtime.run(ref, question="Weather in Paris?", history=history)
    assert second.text == "It is 21 degrees in Paris." and second.tool_calls == ()
    sent = json.dumps(fake_llm.requests[-1].body)
    assert call.id in sent or ref == "assistant-gemini"  # Gemini matches by name
    assert "get_weather" in sent and "temp_c" in sent


def test_invalid_arguments_are_a_flag_not_an_exception(runtime: Runtime, fake_llm: FakeLLM) -> None:
    fake_llm.reply_tool_calls([("get_weather", {"city": 5})])
    result = runtime.run("assistant", question="Weather?")
    (call,) = result.tool_calls
    assert not call.arguments_valid and not result.ok
    assert "at city: 5 is not of type 'string'" in (call.arguments_error or "")
    assert result.cost_usd is not None  # billed all the same


def test_anthropic_structured_output_gives_data(runtime: Runtime, fake_llm: FakeLLM) -> None:
    fake_llm.reply('{"name": "Ada"}')
    result = runtime.run("extract", ticket="Ada wrote in")
    assert result.data == {"name": "Ada"} and result.ok
    assert fake_llm.requests[-1].body["tool_choice"]["type"] == "tool"


def test_a_bad_tool_message_in_history_is_a_clear_error(runtime: Runtime) -> None:
    from promptctl.errors import InputValidationError

    with pytest.raises(InputValidationError, match="needs tool_call_id"):
        runtime.run("assistant", question="?", history=[{"role": "tool", "content": "x"}])


def test_render_keeps_the_tool_turns_of_history(runtime: Runtime) -> None:
    history = [
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "name": "get_weather"}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sun"},
    ]
    messages = runtime.render("assistant", question="Weather?", history=history)
    assert messages[-2:] == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "c1", "name": "get_weather", "arguments": {}}],
        },
        {"role": "tool", "content": "sun", "tool_call_id": "c1"},
    ]
