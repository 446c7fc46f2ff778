"""Streamed answers are untrusted: an event a decoder cannot read is `bad_response`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from promptctl.errors import ProviderError
from promptctl.providers.base import load_adapter
from promptctl.providers.sse import SSEEvent


def _event(data: dict[str, Any]) -> SSEEvent:
    return SSEEvent(event=str(data.get("type", "")), data=json.dumps(data))


@pytest.mark.parametrize("index", [{"a": 1}, [0], "0", None, 1.0])
def test_an_anthropic_tool_delta_naming_no_block_is_a_bad_response(index: Any) -> None:
    """The `index` of an `input_json_delta` must name a `tool_use` block that started: a
    mapping or list there used to be a TypeError (found by fuzzing the decoders)."""
    decoder = load_adapter("anthropic").stream_decoder()  # type: ignore[misc]
    start = {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use"}}
    decoder.feed(_event({**start, "content_block": {**start["content_block"], "name": "f"}}))
    delta = {"type": "input_json_delta", "partial_json": "{}"}
    decoder.feed(_event({"type": "content_block_delta", "index": 0, "delta": delta}))
    with pytest.raises(ProviderError) as caught:
        decoder.feed(_event({"type": "content_block_delta", "index": index, "delta": delta}))
    assert caught.value.kind == "bad_response"
    assert "names no tool_use block" in caught.value.message
