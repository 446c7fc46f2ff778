"""Streaming against the providers' specs: the request bodies, and the fake server's events.

The request side is the adapters' `build_stream_request` bodies validated like every
other body (tests/providers/test_conformance.py). The event side keeps the fake server
honest: each event it streams must match the vendor's schema for one streamed chunk
(vendored as `*_stream.json` by tools/extract_spec_schemas.py), so the decoders are
tested against the wire format and not against the fake's idea of it.
"""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import patch

import pytest
from test_conformance import _requests, _spec, _validate

from fakes import http
from fakes.llm_server import FakeLLM
from promptctl.promptfile.model import DEFAULT_PROVIDERS
from promptctl.providers.base import load_adapter
from promptctl.providers.sse import SSEParser

MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "gemini": "gemini-2.5-flash"}
STREAM_SPECS = ("openai_stream", "anthropic_stream", "gemini_stream")


@pytest.mark.parametrize("kind", MODELS)
def test_stream_request_bodies_match_the_request_schemas(kind: str) -> None:
    adapter = load_adapter(kind)
    assert adapter.build_stream_request is not None
    for request in _requests(MODELS[kind]):
        wire = adapter.build_stream_request(request, DEFAULT_PROVIDERS[kind], "k")
        _validate(kind, wire.body)


def test_a_wrong_stream_option_fails_validation() -> None:
    """The check has teeth for the streaming fields too."""
    adapter = load_adapter("openai")
    assert adapter.build_stream_request is not None
    body = adapter.build_stream_request(_requests("m")[0], DEFAULT_PROVIDERS["openai"], "k").body
    body["stream_options"] = {"include_usage": "yes"}
    with pytest.raises(AssertionError):
        _validate("openai", body)


def _events(fake: FakeLLM, kind: str, extra: dict[str, Any]) -> list[Any]:
    adapter = load_adapter(kind)
    assert adapter.build_stream_request is not None
    settings = {
        "openai": DEFAULT_PROVIDERS["openai"],
        "anthropic": DEFAULT_PROVIDERS["anthropic"],
        "gemini": DEFAULT_PROVIDERS["gemini"],
    }[kind]
    from dataclasses import replace

    base = {"openai": fake.openai_base, "anthropic": fake.anthropic_base}.get(kind)
    settings = replace(settings, base_url=base or fake.gemini_base)
    wire = adapter.build_stream_request(_requests(MODELS[kind])[1], settings, "k")
    body = {**wire.body, **extra}
    resp = http.post(wire.url, json=body, headers=wire.headers, timeout=5)
    assert resp.headers["content-type"] == "text/event-stream"
    parser = SSEParser()
    events = parser.feed(resp.content) + parser.close()
    return [json.loads(e.data) for e in events if e.data != "[DONE]"]


@pytest.mark.parametrize("tools", [False, True], ids=["text", "tool calls"])
@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("openai", {}),
        ("openai", {"stream_options": {"include_usage": False}}),
        ("anthropic", {}),
        ("gemini", {}),
    ],
)
def test_the_fake_servers_events_match_the_vendors_schemas(
    fake_llm: FakeLLM, kind: str, extra: dict[str, Any], tools: bool
) -> None:
    fake_llm.reply("one two three")
    if tools:
        fake_llm.reply_tool_calls([("get_weather", {"city": "Oslo"}), ("get_weather", {})])
    events = _events(fake_llm, kind, extra)
    assert len(events) >= (1 if tools and kind == "gemini" else 3)  # a functionCall: whole
    for event in events:
        if event.get("type") == "ping":  # in Anthropic's streaming guide, not the union
            continue
        _validate_event(kind, event)
    if kind == "openai":  # the usage chunk only when asked for
        usage = [e for e in events if e.get("usage")]
        assert len(usage) == (0 if extra else 1)


def _validate_event(kind: str, event: dict[str, Any]) -> None:
    """An Anthropic event against its own branch of the union (named by its `type`: the
    unknown-field check cannot tell the branches' `delta` objects apart)."""
    if kind != "anthropic":
        _validate(f"{kind}_stream", event)
        return
    name = "".join(w.title() for w in str(event.get("type")).split("_")) + "Event"
    spec = _spec("anthropic_stream")
    assert name in spec["components"]["schemas"], name
    with patch.dict(spec, request_schema=f"/components/schemas/{name}"):
        _validate("anthropic_stream", event)


def test_the_event_check_has_teeth() -> None:
    with pytest.raises(AssertionError):
        _validate_event("anthropic", {"type": "content_block_delta", "index": 0, "delta": 1})
    with pytest.raises(AssertionError):
        stop = {"stop_reason": "end_turn", "stop_sequence": None, "stop_reson": None}
        _validate_event("anthropic", {"type": "message_delta", "delta": stop, "usage": {}})
    with pytest.raises(AssertionError):
        _validate_event("openai", {"id": "x", "choices": [{"delta": {"contnet": "x"}}]})
