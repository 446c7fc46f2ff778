"""The `openai-responses` provider kind against the fake server: request, answer, cost, errors."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from provider_helpers import Harness, chat

from fakes.llm_server import FakeLLM
from promptctl.errors import ProviderError
from promptctl.promptfile.chat import ChatMessage, ResponseFormat, ToolCall, ToolSpec
from promptctl.promptfile.model import Project
from promptctl.providers.types import Usage

SCHEMA = {
    "type": "object",
    "properties": {"category": {"type": "string"}},
    "required": ["category"],
    "additionalProperties": False,  # strict-compatible: sent with strict true
}


def _answer(**fields: Any) -> dict[str, Any]:
    """A Responses API answer: completed, one message, usage with details."""
    body: dict[str, Any] = {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "model": "gpt-5-mini-2025-08-07",
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {
                "type": "message",
                "role": "assistant",
                "content": [
                    {"type": "output_text", "text": "bill", "annotations": []},
                    {"type": "output_text", "text": "ing", "annotations": []},
                ],
            },
        ],
        "usage": {
            "input_tokens": 1000,
            "input_tokens_details": {"cached_tokens": 400},
            "output_tokens": 300,
            "output_tokens_details": {"reasoning_tokens": 250},
            "total_tokens": 1300,
        },
    }
    body.update(fields)
    return body


def test_request_maps_instructions_input_format_and_limits(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.reply("billing")
    request = chat(
        "responses/gpt-4o-mini",
        ("system", "Classify."),
        ("system", "Be brief."),
        ("user", "refund please"),
        ("assistant", "billing?"),
        ("user", "yes"),
        temperature=0.2,
        top_p=0.9,
        max_tokens=50,
        response_format=ResponseFormat("json_schema", schema=SCHEMA, name="triage"),
    )
    response = Harness(fake_project, fake_env).run(request)
    sent = fake_llm.requests[0]
    assert sent.path == "/v1/responses"
    assert sent.headers["authorization"] == "Bearer sk-test-openai-0123456789abcdef"
    assert sent.body == {
        "model": "gpt-4o-mini",
        "instructions": "Classify.\n\nBe brief.",
        "input": [
            {"type": "message", "role": "user", "content": "refund please"},
            {"type": "message", "role": "assistant", "content": "billing?"},
            {"type": "message", "role": "user", "content": "yes"},
        ],
        "store": False,
        "temperature": 0.2,
        "top_p": 0.9,
        "max_output_tokens": 50,
        "text": {
            "format": {"type": "json_schema", "name": "triage", "schema": SCHEMA, "strict": True}
        },
    }
    assert response.text == "billing"
    assert response.target == "responses/gpt-4o-mini"
    assert response.finish_reason == "stop"


def test_json_mode_reasoning_model_and_extra_params(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    """json -> text.format json_object; o4-mini drops temperature 0; params pass through."""
    request = chat(
        "responses/o4-mini",
        ("user", "hi"),
        temperature=0.0,
        response_format=ResponseFormat("json"),
        extra={"store": True, "reasoning": {"effort": "low"}},
    )
    Harness(fake_project, fake_env).run(request)
    body = fake_llm.requests[0].body
    assert "temperature" not in body
    assert body["text"] == {"format": {"type": "json_object"}}
    assert body["store"] is True and body["reasoning"] == {"effort": "low"}
    assert "instructions" not in body


def test_usage_cached_and_reasoning_tokens_and_their_cost(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    """gpt-5-mini: $0.25 in, $0.025 cached, $2.00 out per M; reasoning is billed as output."""
    fake_llm.raw(_answer())
    response = Harness(fake_project, fake_env).run(chat("responses/gpt-5-mini"))
    assert response.text == "billing"
    assert response.usage == Usage(
        input_tokens=1000, output_tokens=300, cached_input_tokens=400, reasoning_tokens=250
    )
    assert response.model_reported == "gpt-5-mini-2025-08-07"
    expected = (600 * 0.25 + 400 * 0.025 + 300 * 2.00) / 1_000_000
    assert response.cost_usd == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("reason", "finish"),
    [("max_output_tokens", "length"), ("content_filter", "content_filter"), ("other", "other")],
)
def test_incomplete_status_is_a_finish_reason(
    reason: str, finish: str, fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.raw(_answer(status="incomplete", incomplete_details={"reason": reason}))
    response = Harness(fake_project, fake_env).run(chat("responses/gpt-5-mini"))
    assert response.finish_reason == finish
    assert response.text == "billing"  # the partial answer, billed
    assert response.cost_usd is not None and response.cost_usd > 0


def test_a_refusal_is_the_text_with_content_filter(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    refusal = {"type": "message", "content": [{"type": "refusal", "refusal": "I can't."}]}
    fake_llm.raw(_answer(output=[refusal]))
    response = Harness(fake_project, fake_env).run(chat("responses/gpt-5-mini"))
    assert (response.text, response.finish_reason) == ("I can't.", "content_filter")


@pytest.mark.parametrize(
    ("code", "kind", "calls"),
    [
        ("server_error", "server", 4),  # retried: 1 + max_retries
        ("rate_limit_exceeded", "rate_limit", 4),
        ("invalid_prompt", "bad_request", 1),
        ("bio_policy", "content_filter", 1),
    ],
)
def test_a_failed_response_is_an_error_of_its_kind(
    code: str,
    kind: str,
    calls: int,
    fake_llm: FakeLLM,
    fake_project: Project,
    fake_env: dict[str, str],
) -> None:
    failed = _answer(status="failed", output=[], error={"code": code, "message": "it failed"})
    for _ in range(4):
        fake_llm.raw(failed)
    harness = Harness(fake_project, fake_env)
    with pytest.raises(ProviderError) as info:
        harness.run(chat("responses/gpt-5-mini"))
    assert info.value.kind == kind
    assert "it failed" in info.value.message
    assert fake_llm.calls["openai-responses"] == calls


def test_http_errors_use_the_openai_envelope(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.context_length(wire="openai-responses")
    with pytest.raises(ProviderError) as info:
        Harness(fake_project, fake_env).run(chat("responses/gpt-5-mini"))
    assert info.value.kind == "context_length"


def test_unknown_usage_leaves_the_cost_unknown(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.raw(_answer(usage={"input_tokens": "many"}))
    response = Harness(fake_project, fake_env).run(chat("responses/gpt-5-mini"))
    assert response.usage_known is False and response.cost_usd is None


@pytest.mark.parametrize(
    "body",
    [
        _answer(output={"type": "message"}),
        _answer(status="queued"),
        _answer(output=[{"type": "message", "content": [{"type": "output_text", "text": 3}]}]),
    ],
)
def test_malformed_answers_are_bad_response(
    body: dict[str, Any], fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    for _ in range(4):
        fake_llm.raw(json.dumps(body).encode())
    with pytest.raises(ProviderError) as info:
        Harness(fake_project, fake_env).run(chat("responses/gpt-5-mini"))
    assert info.value.kind == "bad_response"


@pytest.mark.parametrize(("field", "value"), [("stop", ("END",)), ("seed", 3)])
def test_stop_and_seed_are_refused_before_any_call(
    field: str, value: Any, fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    with pytest.raises(ProviderError) as info:
        Harness(fake_project, fake_env).run(chat("responses/gpt-5-mini", **{field: value}))
    assert info.value.kind == "bad_request"
    assert f"no {field} parameter" in info.value.message
    assert "kind openai" in (info.value.hint or "")
    assert fake_llm.requests == []


# ---- tools ----------------------------------------------------------------------------

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
LOOSE = ToolSpec("search", "", {"type": "object", "properties": {"q": {"type": "string"}}})


def test_tools_choice_and_tool_history_map_to_items(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    request = dataclasses.replace(
        chat("responses/gpt-4o-mini", ("system", "Help."), ("user", "Weather in Paris?")),
        tools=(WEATHER, LOOSE),
        tool_choice="get_weather",
    )
    history = (
        *request.messages,
        ChatMessage(
            "assistant",
            "Let me look.",
            tool_calls=(ToolCall("call_1", "get_weather", {"city": "Paris"}),),
        ),
        ChatMessage("tool", '{"temp_c": 21}', tool_call_id="call_1", name="get_weather"),
    )
    Harness(fake_project, fake_env).run(dataclasses.replace(request, messages=history))
    body = fake_llm.requests[0].body
    assert body["tools"] == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": dict(WEATHER.parameters),
            "strict": True,
        },
        {
            "type": "function",
            "name": "search",
            "parameters": dict(LOOSE.parameters),
            "strict": False,
        },
    ]
    assert body["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert body["input"] == [
        {"type": "message", "role": "user", "content": "Weather in Paris?"},
        {"type": "message", "role": "assistant", "content": "Let me look."},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": '{"temp_c": 21}'},
    ]


@pytest.mark.parametrize("choice", ["auto", "none", "required"])
def test_plain_tool_choices_pass_as_strings(
    choice: str, fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    request = dataclasses.replace(
        chat("responses/gpt-4o-mini"), tools=(WEATHER,), tool_choice=choice
    )
    Harness(fake_project, fake_env).run(request)
    assert fake_llm.requests[0].body["tool_choice"] == choice


def test_function_call_items_are_tool_calls_checked_against_the_schema(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.reply_tool_calls(
        [("get_weather", {"city": "Paris"}), ("get_weather", {"town": "Oslo"}), ("search", "{bad")]
    )
    request = dataclasses.replace(chat("responses/gpt-4o-mini"), tools=(WEATHER, LOOSE))
    response = Harness(fake_project, fake_env).run(request)
    assert response.finish_reason == "tool_calls"
    good, wrong, broken = response.tool_calls
    assert (good.id, good.name, dict(good.arguments), good.arguments_valid) == (
        "call_fake_0",
        "get_weather",
        {"city": "Paris"},
        True,
    )
    assert wrong.arguments_valid is False and "city" in (wrong.arguments_error or "")
    assert broken.arguments_valid is False and "not JSON" in (broken.arguments_error or "")


def test_a_function_call_without_its_call_id_is_bad_response(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    item = {"type": "function_call", "name": "search", "arguments": "{}"}
    for _ in range(4):
        fake_llm.raw(_answer(output=[item]))
    with pytest.raises(ProviderError) as info:
        Harness(fake_project, fake_env).run(chat("responses/gpt-5-mini"))
    assert info.value.kind == "bad_response" and "call_id" in info.value.message
