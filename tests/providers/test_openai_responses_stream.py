"""Responses API streaming: the decoder's events, tool calls, errors, and the fake's honesty.

The generic stream behaviour (deltas, failover before the first token, StreamInterrupted
after it, early close, breaker) runs for this wire in tests/providers/test_streaming.py
(`openai-responses` is one of its TARGETS); here is what is particular to it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from test_conformance import _requests, _validate

from fakes import http
from fakes.llm_server import FakeLLM
from promptctl.errors import ProviderError
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.chat import ChatMessage, ToolSpec
from promptctl.promptfile.model import Project, ProviderSettings
from promptctl.providers.base import load_adapter
from promptctl.providers.gateway import Gateway
from promptctl.providers.openai_responses_stream import ResponsesDecoder
from promptctl.providers.sse import SSEEvent, SSEParser
from promptctl.providers.types import ChatResponse, Usage

USAGE = {
    "input_tokens": 1000,
    "input_tokens_details": {"cached_tokens": 400, "cache_write_tokens": 0},
    "output_tokens": 300,
    "output_tokens_details": {"reasoning_tokens": 250},
    "total_tokens": 1300,
}


def _event(kind: str, **fields: Any) -> SSEEvent:
    return SSEEvent(json.dumps({"type": kind, "sequence_number": 0, **fields}), kind)


def _final(**fields: Any) -> dict[str, Any]:
    response: dict[str, Any] = {
        "id": "resp_1",
        "status": "completed",
        "model": "gpt-5-mini-2025-08-07",
        "output": [
            {"type": "message", "content": [{"type": "output_text", "text": "Hello there"}]}
        ],
        "usage": USAGE,
    }
    response.update(fields)
    return response


def test_deltas_then_the_completed_response_with_its_usage() -> None:
    decoder = ResponsesDecoder()
    got = [
        decoder.feed(_event("response.created", response={"id": "resp_1", "model": "gpt-5-mini"})),
        decoder.feed(_event("response.output_text.delta", delta="Hello ")),
        decoder.feed(_event("response.output_text.delta", delta="there")),
    ]
    assert got == ["", "Hello ", "there"] and not decoder.complete
    assert decoder.feed(_event("response.completed", response=_final())) == ""
    assert decoder.complete
    result = decoder.result()
    assert (result.text, result.finish_reason, result.usage_known) == ("Hello there", "stop", True)
    assert result.usage == Usage(
        input_tokens=1000, output_tokens=300, cached_input_tokens=400, reasoning_tokens=250
    )
    assert result.model_reported == "gpt-5-mini-2025-08-07"


def test_a_stream_cut_before_its_end_has_the_text_and_unknown_usage() -> None:
    decoder = ResponsesDecoder()
    decoder.feed(_event("response.created", response={"id": "resp_9", "model": "gpt-5-mini"}))
    decoder.feed(_event("response.output_text.delta", delta="Hel"))
    result = decoder.result()
    assert not decoder.complete
    assert (result.text, result.usage_known, result.finish_reason) == ("Hel", False, "other")
    assert (result.model_reported, result.request_id) == ("gpt-5-mini", "resp_9")


def test_incomplete_is_the_end_with_its_finish_reason() -> None:
    decoder = ResponsesDecoder()
    decoder.feed(_event("response.output_text.delta", delta="Hello"))
    incomplete = _final(status="incomplete", incomplete_details={"reason": "max_output_tokens"})
    decoder.feed(_event("response.incomplete", response=incomplete))
    assert decoder.complete
    assert (decoder.result().finish_reason, decoder.result().text) == ("length", "Hello")


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        (
            _event(
                "response.failed",
                response=_final(status="failed", error={"code": "server_error", "message": "x"}),
            ),
            "server",
        ),
        (
            _event(
                "response.failed",
                response=_final(
                    status="failed", error={"code": "rate_limit_exceeded", "message": "x"}
                ),
            ),
            "rate_limit",
        ),
        (_event("error", code="server_error", message="boom", param=None), "server"),
        (SSEEvent("<html>502</html>", "message"), "bad_response"),
        (SSEEvent("[1, 2]", "message"), "bad_response"),
    ],
)
def test_failures_raise_the_error_of_their_kind(event: SSEEvent, kind: str) -> None:
    with pytest.raises(ProviderError) as info:
        ResponsesDecoder().feed(event)
    assert info.value.kind == kind


def test_a_refusal_only_stream_is_content_filter() -> None:
    decoder = ResponsesDecoder()
    decoder.feed(_event("response.refusal.delta", delta="I can't help with that."))
    result = decoder.result()
    assert (result.text, result.finish_reason) == ("I can't help with that.", "content_filter")


# ---- through the gateway, against the fake --------------------------------------------

WEATHER = ToolSpec(
    "get_weather",
    "",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
)


def _stream(project: Project, env: dict[str, str], request: ChatRequest) -> list[Any]:
    gateway = Gateway(project, mode="live", env=env)

    async def go() -> list[Any]:
        try:
            return [item async for item in gateway.stream(request)]
        finally:
            await gateway.aclose()

    return asyncio.run(go())


def test_streamed_tool_calls_are_assembled_and_checked(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.reply_tool_calls([("get_weather", {"city": "Paris"}), ("get_weather", {"x": 1})])
    request = ChatRequest(
        "responses", "gpt-4o-mini", (ChatMessage("user", "weather?"),), tools=(WEATHER,)
    )
    *deltas, final = _stream(fake_project, fake_env, request)
    assert isinstance(final, ChatResponse)
    assert fake_llm.requests[0].body["stream"] is True
    assert final.finish_reason == "tool_calls" and final.text == "" and deltas == []
    good, bad = final.tool_calls
    assert (good.id, good.name, dict(good.arguments), good.arguments_valid) == (
        "call_fake_0",
        "get_weather",
        {"city": "Paris"},
        True,
    )
    assert bad.arguments_valid is False
    assert final.usage.input_tokens == 10 and final.cost_usd is not None


def test_stream_request_bodies_match_create_response() -> None:
    adapter = load_adapter("openai-responses")
    assert adapter.build_stream_request is not None
    settings = ProviderSettings("r", "openai-responses", "https://api.openai.com/v1", "K")
    for request in _requests("gpt-4o-mini"):
        plain = ChatRequest(**{**request.__dict__, "stop": (), "seed": None})
        body = adapter.build_stream_request(plain, settings, "k").body
        assert body["stream"] is True
        _validate("openai_responses", body)


@pytest.mark.parametrize("calls", [None, [("get_weather", {"city": "Paris"})]])
def test_the_fake_servers_events_match_the_response_stream_event_schema(
    fake_llm: FakeLLM, calls: Any
) -> None:
    if calls:
        fake_llm.reply_tool_calls(calls)
    body = {"model": "gpt-4o-mini", "input": "hi", "stream": True}
    resp = http.post(fake_llm.openai_base + "/responses", json=body, timeout=5)
    assert resp.headers["content-type"] == "text/event-stream"
    parser = SSEParser()
    events = parser.feed(resp.content) + parser.close()
    kinds = [e.event for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    delta = "response.function_call_arguments.delta" if calls else "response.output_text.delta"
    assert delta in kinds
    for event in events:
        data = json.loads(event.data)
        assert data["type"] == event.event
        _validate("openai_responses_stream", data)
    broken = json.loads(events[-1].data)
    broken["response"]["usage"] = {"input_tokens": 1}
    with pytest.raises(AssertionError):
        _validate("openai_responses_stream", broken)
