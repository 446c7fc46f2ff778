"""Streaming with tools and structured output: calls assembled from deltas, then checked.

The fake server streams scripted tool calls as each vendor does (OpenAI argument pieces,
Anthropic `input_json_delta`, Gemini whole `functionCall` parts); the streamed answer
must carry the same tool calls, checked against the tools' schemas, as the whole one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.chat import ChatMessage, ResponseFormat, ToolSpec
from promptctl.promptfile.model import Project
from promptctl.providers.gateway import Gateway
from promptctl.providers.types import ChatResponse

LOOKUP = ToolSpec(
    "lookup_order",
    "Find an order by id.",
    {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
)
TARGETS = {
    "openai": ("openai", "gpt-4o-mini"),
    "anthropic": ("anthropic", "claude-3-5-haiku-latest"),
    "gemini": ("gemini", "gemini-2.0-flash"),
}


@pytest.fixture
def gw(tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str]) -> Iterator[Gateway]:
    project = Project(tmp_path, tmp_path / "evals", providers=fake_providers(fake_llm))
    gateway = Gateway(project, mode="live", env=fake_env)
    yield gateway
    gateway.close()


def _request(wire: str, **fields: Any) -> ChatRequest:
    provider, model = TARGETS[wire]
    return ChatRequest(provider, model, (ChatMessage("user", "where is A-1?"),), **fields)


def _streamed(gw: Gateway, request: ChatRequest) -> tuple[list[str], ChatResponse]:
    *deltas, final = list(gw.stream_sync(request))
    assert isinstance(final, ChatResponse)
    return deltas, final


@pytest.mark.parametrize("wire", TARGETS)
def test_tool_calls_are_assembled_and_equal_the_whole_answers(
    gw: Gateway, fake_llm: FakeLLM, wire: str
) -> None:
    fake_llm.reply_tool_calls([("lookup_order", {"id": "A-1"}), ("lookup_order", {"id": 7})])
    request = _request(wire, tools=(LOOKUP,))
    deltas, streamed = _streamed(gw, request)
    whole = gw.complete_sync(request)
    assert deltas == [] and streamed.text == ""
    assert streamed.finish_reason == whole.finish_reason == "tool_calls"
    assert streamed.tool_calls == whole.tool_calls
    good, bad = streamed.tool_calls
    assert (good.name, dict(good.arguments), good.arguments_valid) == (
        "lookup_order",
        {"id": "A-1"},
        True,
    )
    # checked against the tool's schema after assembly, as a whole answer's are
    assert not bad.arguments_valid and "at id" in (bad.arguments_error or "")
    if wire == "openai":  # the arguments really came in pieces
        assert fake_llm.requests[0].body["stream"] is True


def test_openai_arguments_that_are_not_json_are_flagged(gw: Gateway, fake_llm: FakeLLM) -> None:
    fake_llm.reply_tool_calls([("lookup_order", '{"id": "A-')])
    _, streamed = _streamed(gw, _request("openai", tools=(LOOKUP,)))
    [call] = streamed.tool_calls
    assert not call.arguments_valid and "not JSON" in (call.arguments_error or "")


def test_anthropic_json_schema_answer_streams_as_text(gw: Gateway, fake_llm: FakeLLM) -> None:
    """Forced tool use on the wire; to the caller, JSON text arriving piece by piece."""
    schema = {"type": "object", "properties": {"category": {"type": "string"}}}
    fake_llm.reply('{"category": "billing"}')
    request = _request("anthropic", response_format=ResponseFormat("json_schema", schema=schema))
    deltas, streamed = _streamed(gw, request)
    assert deltas == ['{"category": ', '"billing"}']
    assert streamed.text == "".join(deltas) and streamed.tool_calls == ()
    assert streamed.finish_reason == "stop"
    assert fake_llm.requests[0].body["tool_choice"]["type"] == "tool"
