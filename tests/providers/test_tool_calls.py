"""Tool calls and structured output on each wire, against the fake server: what is sent,
what comes back as `ChatResponse.tool_calls`, and how bad arguments are flagged."""

from __future__ import annotations

import json

import pytest
from provider_helpers import Harness, chat

from fakes.llm_server import FakeLLM
from promptctl.promptfile.chat import ChatMessage, ResponseFormat, ToolCall, ToolSpec
from promptctl.promptfile.model import Project
from promptctl.providers.anthropic import OUTPUT_TOOL
from promptctl.providers.tool_calls import check_tool_calls

WEATHER = ToolSpec(
    "get_weather",
    "The weather in a city.",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
        "required": ["city"],
        "additionalProperties": False,
    },
)
TARGETS = ("openai/gpt-4o-mini", "anthropic/claude-haiku-4-5", "gemini/gemini-2.5-flash")


@pytest.mark.parametrize("target", TARGETS)
def test_tool_calls_come_back_parsed_and_checked(
    target: str, fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.reply_tool_calls(
        [
            ("get_weather", {"city": "Paris", "days": 2}),
            ("get_weather", {"city": "Oslo", "days": 0}),  # breaks minimum: 1
            ("send_email", {"to": "x"}),  # not a declared tool
        ]
    )
    request = chat(target, ("user", "weather?"), tools=(WEATHER,), tool_choice="auto")
    response = Harness(fake_project, fake_env).run(request)
    good, low, unknown = response.tool_calls
    assert (good.name, dict(good.arguments), good.arguments_valid) == (
        "get_weather",
        {"city": "Paris", "days": 2},
        True,
    )
    assert good.arguments_error is None
    assert not low.arguments_valid and low.arguments == {"city": "Oslo", "days": 0}
    assert "at days" in (low.arguments_error or "")
    assert not unknown.arguments_valid
    assert "not one of the request's tools" in (unknown.arguments_error or "")
    assert response.finish_reason == "tool_calls"
    assert len({c.id for c in response.tool_calls}) == 3  # ids tell the calls apart


def test_openai_arguments_that_are_not_json_are_flagged(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.reply_tool_calls([("get_weather", '{"city": "Par'), ("get_weather", "[1]")])
    request = chat("openai/gpt-4o-mini", tools=(WEATHER,))
    cut, array = Harness(fake_project, fake_env).run(request).tool_calls
    assert (cut.arguments_valid, dict(cut.arguments)) == (False, {})
    assert (cut.arguments_error or "").startswith("arguments are not JSON")
    assert array.arguments_error == "arguments are not a JSON object"


@pytest.mark.parametrize("target", TARGETS)
def test_arguments_holding_nan_or_infinity_are_flagged_on_every_wire(
    target: str, fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    """Python reads NaN and Infinity from a body; JSON has neither, and the results
    document refuses them: a model's arguments holding one are flagged, never passed on
    (the fake writes them as Python's json does: `{"days": NaN}`)."""
    fake_llm.reply_tool_calls(
        [
            ("get_weather", {"city": "Paris", "days": float("nan")}),
            ("get_weather", {"city": "Oslo"}),
        ]
    )
    request = chat(target, ("user", "weather?"), tools=(WEATHER,), tool_choice="auto")
    odd, fine = Harness(fake_project, fake_env).run(request).tool_calls
    assert (odd.arguments_valid, dict(odd.arguments)) == (False, {})
    assert "NaN" in (odd.arguments_error or "")
    assert fine.arguments_valid and dict(fine.arguments) == {"city": "Oslo"}


def test_tool_request_fields_per_wire(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    harness = Harness(fake_project, fake_env)
    for target in TARGETS:
        harness.run(chat(target, tools=(WEATHER,), tool_choice="get_weather"))
    openai, anthropic, gemini = (r.body for r in fake_llm.requests)
    assert openai["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city.",
                "parameters": dict(WEATHER.parameters),
                # no "strict": `days` is optional, so the schema is not strict-compatible
            },
        }
    ]
    assert openai["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert anthropic["tools"] == [
        {
            "name": "get_weather",
            "description": "The weather in a city.",
            "input_schema": dict(WEATHER.parameters),
        }
    ]
    assert anthropic["tool_choice"] == {"type": "tool", "name": "get_weather"}
    assert gemini["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "The weather in a city.",
                    "parameters": {
                        "type": "OBJECT",
                        "properties": {"city": {"type": "STRING"}, "days": {"type": "INTEGER"}},
                        "required": ["city"],
                    },
                }
            ]
        }
    ]
    assert gemini["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
    }


@pytest.mark.parametrize(
    ("choice", "openai", "anthropic", "gemini"),
    [
        ("auto", "auto", {"type": "auto"}, {"mode": "AUTO"}),
        ("none", "none", {"type": "none"}, {"mode": "NONE"}),
        ("required", "required", {"type": "any"}, {"mode": "ANY"}),
    ],
)
def test_tool_choice_keywords(
    choice: str, openai: object, anthropic: object, gemini: object
) -> None:
    from promptctl.promptfile.model import DEFAULT_PROVIDERS
    from promptctl.providers.base import load_adapter

    bodies = [
        load_adapter(kind)
        .build_request(chat(f"{kind}/m", tools=(WEATHER,), tool_choice=choice), settings, "k")
        .body
        for kind, settings in ((k, DEFAULT_PROVIDERS[k]) for k in ("openai", "anthropic", "gemini"))
    ]
    assert bodies[0]["tool_choice"] == openai
    assert bodies[1]["tool_choice"] == anthropic
    assert bodies[2]["toolConfig"] == {"functionCallingConfig": gemini}


CONVERSATION = (
    ChatMessage("user", "Weather in Paris and Oslo?"),
    ChatMessage(
        "assistant",
        "Looking.",
        tool_calls=(
            ToolCall("c1", "get_weather", {"city": "Paris"}),
            ToolCall("c2", "get_weather", {"city": "Oslo"}),
        ),
    ),
    ChatMessage("tool", '{"temp_c": 21}', tool_call_id="c1", name="get_weather"),
    ChatMessage("tool", "rain", tool_call_id="c2"),
)


def test_history_with_tool_calls_and_results_per_wire(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    harness = Harness(fake_project, fake_env)
    for target in TARGETS:
        provider, model = target.split("/")
        request = chat(target, tools=(WEATHER,))
        harness.run(type(request)(provider, model, CONVERSATION, tools=(WEATHER,)))
    openai, anthropic, gemini = (r.body for r in fake_llm.requests)
    assert openai["messages"] == [
        {"role": "user", "content": "Weather in Paris and Oslo?"},
        {
            "role": "assistant",
            "content": "Looking.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": '{"temp_c": 21}'},
        {"role": "tool", "tool_call_id": "c2", "content": "rain"},
    ]
    assert anthropic["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Oslo?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Looking."},
                {"type": "tool_use", "id": "c1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "c2", "name": "get_weather", "input": {"city": "Oslo"}},
            ],
        },
        {  # both results in one user turn (Anthropic wants alternating roles)
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "c1", "content": '{"temp_c": 21}'},
                {"type": "tool_result", "tool_use_id": "c2", "content": "rain"},
            ],
        },
    ]
    assert gemini["contents"] == [
        {"role": "user", "parts": [{"text": "Weather in Paris and Oslo?"}]},
        {
            "role": "model",
            "parts": [
                {"text": "Looking."},
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "name": "get_weather",
                        "response": {"output": {"temp_c": 21}},
                    }
                },
                # no `name` on the message: the name of the call c2 answers
                {"functionResponse": {"name": "get_weather", "response": {"output": "rain"}}},
            ],
        },
    ]


STRICT = {
    "type": "object",
    "properties": {"category": {"type": "string"}},
    "required": ["category"],
    "additionalProperties": False,
}
LOOSE = {"type": "object", "properties": {"category": {"type": "string"}}}


@pytest.mark.parametrize(("schema", "strict"), [(STRICT, True), (LOOSE, False)])
def test_openai_strict_only_for_strict_compatible_schemas(
    schema: dict[str, object],
    strict: bool,
    fake_llm: FakeLLM,
    fake_project: Project,
    fake_env: dict[str, str],
) -> None:
    fmt = ResponseFormat("json_schema", schema=schema)
    Harness(fake_project, fake_env).run(chat("openai/gpt-4o-mini", response_format=fmt))
    sent = fake_llm.requests[0].body["response_format"]["json_schema"]
    assert (sent["schema"], sent["strict"]) == (schema, strict)


def test_anthropic_structured_output_is_forced_tool_use(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.reply('{"category": "billing"}')
    fmt = ResponseFormat("json_schema", schema=STRICT)
    response = Harness(fake_project, fake_env).run(
        chat("anthropic/claude-haiku-4-5", response_format=fmt)
    )
    body = fake_llm.requests[0].body
    assert body["tools"] == [
        {
            "name": OUTPUT_TOOL,
            "description": "Give the answer: call this with the answer as its input.",
            "input_schema": STRICT,
        }
    ]
    assert body["tool_choice"] == {"type": "tool", "name": OUTPUT_TOOL}
    # the fake answered with a tool_use block, as Anthropic does: the answer is its input
    assert json.loads(response.text) == {"category": "billing"}
    assert response.tool_calls == () and response.finish_reason == "stop"


def test_anthropic_forced_output_parsed_from_a_tool_use_block() -> None:
    from promptctl.providers.anthropic import ADAPTER

    body = {
        "content": [
            {"type": "text", "text": "Here it is"},
            {"type": "tool_use", "id": "t1", "name": OUTPUT_TOOL, "input": {"category": "bug"}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 3, "output_tokens": 4},
    }
    parsed = ADAPTER.parse_response(200, {}, json.dumps(body).encode())
    assert json.loads(parsed.text) == {"category": "bug"}
    assert parsed.tool_calls == () and parsed.finish_reason == "stop"


def test_gemini_structured_output_is_response_schema(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fmt = ResponseFormat("json_schema", schema={**STRICT, "$schema": "x", "minProperties": 1})
    Harness(fake_project, fake_env).run(chat("gemini/gemini-2.5-flash", response_format=fmt))
    config = fake_llm.requests[0].body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    # unsupported keywords ($schema, additionalProperties, minProperties) are dropped
    assert config["responseSchema"] == {
        "type": "OBJECT",
        "properties": {"category": {"type": "STRING"}},
        "required": ["category"],
    }


def test_a_broken_tool_schema_flags_the_call_instead_of_raising() -> None:
    broken = ToolSpec("t", "", {"type": "object", "properties": {"a": {"type": "strng"}}})
    (call,) = check_tool_calls((broken,), (ToolCall("1", "t", {"a": 1}),))
    assert not call.arguments_valid
    assert call.arguments_error == (
        "the tool's parameters are not a usable JSON Schema (UnknownType)"
    )


def test_check_tool_calls_keeps_a_json_failure_and_checks_the_rest() -> None:
    bad_json = ToolCall("a", "get_weather", {}, False, "arguments are not JSON: x")
    missing = ToolCall("b", "get_weather", {})
    checked = check_tool_calls((WEATHER,), (bad_json, missing))
    assert checked[0] is bad_json
    assert not checked[1].arguments_valid
    assert "'city' is a required property" in (checked[1].arguments_error or "")
    assert check_tool_calls((WEATHER,), ()) == ()


def test_cached_response_keeps_its_tool_calls(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    from promptctl.providers.codec import response_from_data, response_to_data

    fake_llm.reply_tool_calls([("get_weather", {"city": "Paris", "days": 0})])
    response = Harness(fake_project, fake_env).run(chat("openai/gpt-4o-mini", tools=(WEATHER,)))
    data = json.loads(json.dumps(response_to_data(response)))
    assert response_from_data(data).tool_calls == response.tool_calls
    fake_llm.reply_tool_calls(lambda _: None)
    without = Harness(fake_project, fake_env).run(chat("openai/gpt-4o-mini"))
    assert "tool_calls" not in response_to_data(without)  # stored answers stay as they were


def test_mistral_gets_nine_character_call_ids_consistently(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    from promptctl.plan.request import ChatRequest

    turns = (
        *CONVERSATION[:1],
        ChatMessage(
            "assistant",
            "",
            tool_calls=(
                ToolCall("call_OpenAI_long_id_1", "get_weather", {"city": "Paris"}),
                ToolCall("Ab3dE6gH9", "get_weather", {"city": "Oslo"}),  # Mistral's own
            ),
        ),
        ChatMessage("tool", "sun", tool_call_id="call_OpenAI_long_id_1"),
        ChatMessage("tool", "rain", tool_call_id="Ab3dE6gH9"),
    )
    request = ChatRequest("mistral", "mistral-small", turns, tools=(WEATHER,))
    Harness(fake_project, fake_env).run(request)
    messages = fake_llm.requests[0].body["messages"]
    first, second = (c["id"] for c in messages[1]["tool_calls"])
    assert len(first) == 9 and first.isalnum() and second == "Ab3dE6gH9"
    assert [m["tool_call_id"] for m in messages[2:]] == [first, second]


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object"},
        {"type": "object", "properties": {"meta": {"type": "object"}}},
        {"type": "object", "properties": {"rows": {"type": "array", "items": {"type": "object"}}}},
    ],
)
def test_gemini_gets_no_response_schema_with_an_empty_object(schema: dict[str, object]) -> None:
    from promptctl.promptfile.model import DEFAULT_PROVIDERS
    from promptctl.providers.gemini import ADAPTER

    fmt = ResponseFormat("json_schema", schema=schema)
    request = chat("gemini/gemini-2.5-flash", response_format=fmt)
    body = ADAPTER.build_request(request, DEFAULT_PROVIDERS["gemini"], "k").body
    # JSON mode alone: Gemini refuses an OBJECT without properties
    assert body["generationConfig"] == {"responseMimeType": "application/json"}


def test_anthropic_forces_no_tool_for_an_output_that_is_not_an_object() -> None:
    from promptctl.promptfile.model import DEFAULT_PROVIDERS
    from promptctl.providers.anthropic import ADAPTER

    fmt = ResponseFormat("json_schema", schema={"type": "array", "items": {"type": "string"}})
    request = chat("anthropic/claude-haiku-4-5", response_format=fmt)
    body = ADAPTER.build_request(request, DEFAULT_PROVIDERS["anthropic"], "k").body
    assert "tools" not in body and "tool_choice" not in body  # input_schema must be an object


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
def test_no_tool_choice_is_sent_without_tools(kind: str) -> None:
    from promptctl.promptfile.model import DEFAULT_PROVIDERS
    from promptctl.providers.base import load_adapter

    request = chat(f"{kind}/m", tool_choice="required")
    body = load_adapter(kind).build_request(request, DEFAULT_PROVIDERS[kind], "k").body
    assert not {"tools", "tool_choice", "toolConfig"} & set(body)
