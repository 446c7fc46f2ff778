"""Each wire's stream decoder on streams written as the vendors document them.

The streams are typed out here (not produced by the fake server) so a decoder and the
fake cannot agree on a mistake; tests/providers/test_streaming.py runs the same decoders
over the network.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from promptctl.errors import ProviderError
from promptctl.providers.base import Parsed, StreamDecoder, load_adapter
from promptctl.providers.sse import SSEParser
from promptctl.providers.types import Usage


def _sse(*events: Any) -> bytes:
    out = b""
    for event in events:
        if isinstance(event, tuple):
            name, data = event
            out += f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
        elif isinstance(event, str):
            out += f"data: {event}\n\n".encode()
        else:
            out += f"data: {json.dumps(event)}\n\n".encode()
    return out


def _decode(kind: str, stream: bytes) -> tuple[list[str], StreamDecoder]:
    adapter = load_adapter(kind)
    assert adapter.stream_decoder is not None
    decoder = adapter.stream_decoder()
    parser = SSEParser()
    deltas = [decoder.feed(e) for e in parser.feed(stream) + parser.close()]
    return [d for d in deltas if d], decoder


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


OPENAI_USAGE = {
    "prompt_tokens": 19,
    "completion_tokens": 3,
    "total_tokens": 22,
    "prompt_tokens_details": {"cached_tokens": 8},
    "completion_tokens_details": {"reasoning_tokens": 0},
}
OPENAI = _sse(
    _chunk({"role": "assistant", "content": ""}),
    _chunk({"content": "Hel"}),
    _chunk({"content": "lo"}),
    _chunk({}, "stop"),
    {**_chunk({}), "choices": [], "usage": OPENAI_USAGE},
    "[DONE]",
)


def test_openai_chunks_with_include_usage() -> None:
    deltas, decoder = _decode("openai", OPENAI)
    assert deltas == ["Hel", "lo"]
    assert decoder.complete
    assert decoder.result() == Parsed(
        text="Hello",
        finish_reason="stop",
        usage=Usage(input_tokens=19, output_tokens=3, cached_input_tokens=8),
        model_reported="gpt-4o-mini-2024-07-18",
        request_id="chatcmpl-1",
    )


def test_llama_cpp_without_usage_nor_done_is_complete_with_usage_unknown() -> None:
    stream = _sse(_chunk({"content": "Hi"}), _chunk({}, "length"))
    deltas, decoder = _decode("openai-compatible", stream)
    assert deltas == ["Hi"]
    assert decoder.complete
    result = decoder.result()
    assert (result.text, result.finish_reason, result.usage_known) == ("Hi", "length", False)


def test_openai_stream_cut_before_its_finish_is_not_complete() -> None:
    _, decoder = _decode("openai", _sse(_chunk({"content": "Hi"})))
    assert not decoder.complete


def test_openai_done_without_any_answer_nor_finish_is_not_complete() -> None:
    """llama-cpp-python cut a second concurrent stream this way: not an empty answer."""
    stream = _sse(_chunk({"role": "assistant", "content": ""}), "[DONE]")
    deltas, decoder = _decode("openai-compatible", stream)
    assert deltas == []
    assert not decoder.complete


def test_openai_done_mid_answer_without_a_finish_reason_is_not_complete() -> None:
    """llama-cpp-python cut "The capital of Japan is Tokyo." to "The capital", [DONE]."""
    _, decoder = _decode("openai-compatible", _sse(_chunk({"content": "The capital"}), "[DONE]"))
    assert not decoder.complete


def test_an_empty_answer_with_its_finish_reason_is_complete() -> None:
    _, decoder = _decode("openai", _sse(_chunk({"role": "assistant", "content": ""}, "stop")))
    assert decoder.complete
    assert decoder.result().text == ""


def test_openai_refusal_deltas_become_a_content_filter_answer() -> None:
    stream = _sse(_chunk({"refusal": "I can't"}), _chunk({"refusal": " help."}, "stop"), "[DONE]")
    _, decoder = _decode("openai", stream)
    assert (decoder.result().text, decoder.result().finish_reason) == (
        "I can't help.",
        "content_filter",
    )


def test_openai_error_event_mid_stream() -> None:
    stream = _sse(_chunk({"content": "Hi"}), {"error": {"message": "boom", "type": "server_error"}})
    with pytest.raises(ProviderError) as info:
        _decode("openai", stream)
    assert info.value.kind == "server" and "boom" in info.value.message


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
@pytest.mark.parametrize("data", ["<html>502</html>", "[1, 2]", '{"choices": 3}'])
def test_an_unreadable_event_is_bad_response(kind: str, data: str) -> None:
    if kind != "openai" and data.startswith("{"):
        wrong = {
            "gemini": '{"candidates": 3}',
            "anthropic": '{"type": "message_start", "message": 1}',
        }
        data = wrong[kind]
    with pytest.raises(ProviderError) as info:
        _decode(kind, f"data: {data}\n\n".encode())
    assert info.value.kind == "bad_response"


ANTHROPIC = _sse(
    (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-3-5-haiku-20241022",
                "content": [],
                "stop_reason": None,
                "usage": {
                    "input_tokens": 25,
                    "output_tokens": 1,
                    "cache_read_input_tokens": 100,
                    "cache_creation_input_tokens": 0,
                },
            },
        },
    ),
    ("content_block_start", {"type": "content_block_start", "index": 0,
                             "content_block": {"type": "text", "text": ""}}),
    ("ping", {"type": "ping"}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "text_delta", "text": "Hello"}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "text_delta", "text": "!"}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("message_delta", {"type": "message_delta",
                       "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                       "usage": {"output_tokens": 15}}),
    ("message_stop", {"type": "message_stop"}),
)  # fmt: skip


def test_anthropic_events() -> None:
    deltas, decoder = _decode("anthropic", ANTHROPIC)
    assert deltas == ["Hello", "!"]
    assert decoder.complete
    assert decoder.result() == Parsed(
        text="Hello!",
        finish_reason="stop",
        usage=Usage(input_tokens=125, output_tokens=15, cached_input_tokens=100),
        model_reported="claude-3-5-haiku-20241022",
        request_id="msg_1",
    )


def test_anthropic_cut_before_message_delta_has_input_usage_but_is_not_known() -> None:
    """message_start's output_tokens is a placeholder: the usage is not known yet."""
    cut = ANTHROPIC[: ANTHROPIC.index(b"event: content_block_stop")]
    deltas, decoder = _decode("anthropic", cut)
    assert deltas == ["Hello", "!"] and not decoder.complete
    result = decoder.result()
    assert result.usage.input_tokens == 125 and not result.usage_known


def test_anthropic_thinking_deltas_are_not_answer_text() -> None:
    stream = _sse(
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "thinking_delta", "thinking": "hmm"}}),
    )  # fmt: skip
    assert _decode("anthropic", stream)[0] == []


def _tool_use(index: int, call_id: str, name: str, *pieces: str) -> list[Any]:
    start = {
        "type": "content_block_start",
        "index": index,
        "content_block": {"type": "tool_use", "id": call_id, "name": name, "input": {}},
    }
    deltas = [
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": p},
            },
        )
        for p in pieces
    ]
    return [("content_block_start", start), *deltas,
            ("content_block_stop", {"type": "content_block_stop", "index": index})]  # fmt: skip


def _stop(reason: str) -> list[Any]:
    return [
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": reason},
                           "usage": {"output_tokens": 9}}),
        ("message_stop", {"type": "message_stop"}),
    ]  # fmt: skip


def test_anthropic_tool_use_input_is_assembled_from_its_json_deltas() -> None:
    stream = _sse(
        *_tool_use(0, "toolu_1", "lookup_order", '{"id":', ' "A-', '1"}'),
        *_tool_use(1, "toolu_2", "refund", '{"amount": 3'),  # cut JSON: flagged
        *_stop("tool_use"),
    )
    deltas, decoder = _decode("anthropic", stream)
    assert deltas == []  # tool input is not answer text
    result = decoder.result()
    first, second = result.tool_calls
    assert (first.id, first.name, dict(first.arguments)) == ("toolu_1", "lookup_order",
                                                              {"id": "A-1"})  # fmt: skip
    assert first.arguments_valid and result.finish_reason == "tool_calls"
    assert not second.arguments_valid and "not JSON" in (second.arguments_error or "")


def test_anthropic_forced_output_tool_streams_as_the_answer_text() -> None:
    """A JSON-schema prompt on Anthropic is forced tool use: its input is the answer."""
    from promptctl.providers.anthropic import OUTPUT_TOOL

    stream = _sse(*_tool_use(0, "toolu_1", OUTPUT_TOOL, '{"category"', ': "billing"}'),
                  *_stop("tool_use"))  # fmt: skip
    deltas, decoder = _decode("anthropic", stream)
    assert deltas == ['{"category"', ': "billing"}']
    result = decoder.result()
    assert result.text == '{"category": "billing"}' and result.tool_calls == ()
    assert result.finish_reason == "stop"


def test_anthropic_json_delta_for_an_unknown_block_is_bad_response() -> None:
    stream = _sse(("content_block_delta", {"type": "content_block_delta", "index": 4,
                   "delta": {"type": "input_json_delta", "partial_json": "{"}}))  # fmt: skip
    with pytest.raises(ProviderError) as info:
        _decode("anthropic", stream)
    assert info.value.kind == "bad_response"


def _call_delta(index: int, *, call_id: str = "", name: str = "", args: str = "") -> Any:
    function: dict[str, str] = {"arguments": args}
    if name:
        function["name"] = name
    call: dict[str, Any] = {"index": index, "function": function}
    if call_id:
        call |= {"id": call_id, "type": "function"}
    return _chunk({"tool_calls": [call]})


def test_openai_tool_call_argument_deltas_are_assembled_per_index() -> None:
    stream = _sse(
        _chunk({"role": "assistant", "content": None}),
        _call_delta(0, call_id="call_a", name="lookup_order"),
        _call_delta(1, call_id="call_b", name="weather"),
        _call_delta(0, args='{"id"'),
        _call_delta(1, args='{"city": "Oslo"}'),
        _call_delta(0, args=': "A-1"}'),
        _chunk({}, "tool_calls"),
        "[DONE]",
    )
    deltas, decoder = _decode("openai", stream)
    assert deltas == []
    result = decoder.result()
    assert [(c.id, c.name, dict(c.arguments)) for c in result.tool_calls] == [
        ("call_a", "lookup_order", {"id": "A-1"}),
        ("call_b", "weather", {"city": "Oslo"}),
    ]
    assert result.finish_reason == "tool_calls" and result.text == ""


def test_openai_tool_call_without_a_name_is_bad_response() -> None:
    _, decoder = _decode("openai", _sse(_call_delta(0, args="{}"), _chunk({}, "tool_calls")))
    with pytest.raises(ProviderError) as info:
        decoder.result()
    assert info.value.kind == "bad_response"


def test_gemini_function_call_parts() -> None:
    call = {"functionCall": {"name": "lookup_order", "args": {"id": "A-1"}}}
    chunk = {"candidates": [{"content": {"role": "model", "parts": [call]},
                             "finishReason": "STOP"}],
             "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 3}}  # fmt: skip
    deltas, decoder = _decode("gemini", _sse(chunk))
    result = decoder.result()
    assert deltas == [] and result.finish_reason == "tool_calls"
    [only] = result.tool_calls
    assert (only.id, only.name, dict(only.arguments)) == ("call_0", "lookup_order", {"id": "A-1"})


@pytest.mark.parametrize(
    ("etype", "kind"),
    [
        ("overloaded_error", "overloaded"),
        ("api_error", "server"),
        ("rate_limit_error", "rate_limit"),
    ],
)
def test_anthropic_error_event(etype: str, kind: str) -> None:
    stream = _sse(("error", {"type": "error", "error": {"type": etype, "message": "Overloaded"}}))
    with pytest.raises(ProviderError) as info:
        _decode("anthropic", stream)
    assert info.value.kind == kind


def _gemini(text: str, finish: str | None = None, usage: dict[str, int] | None = None) -> Any:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}}
    if finish:
        candidate["finishReason"] = finish
    chunk: dict[str, Any] = {"candidates": [candidate], "modelVersion": "gemini-2.0-flash-001"}
    chunk["responseId"] = "r1"
    if usage:
        chunk["usageMetadata"] = usage
    return chunk


def test_gemini_chunks_take_the_last_usage() -> None:
    stream = _sse(
        _gemini("The ", usage={"promptTokenCount": 9}),
        _gemini(
            "answer",
            "STOP",
            {"promptTokenCount": 9, "candidatesTokenCount": 2, "thoughtsTokenCount": 4},
        ),
    )
    deltas, decoder = _decode("gemini", stream)
    assert deltas == ["The ", "answer"]
    assert decoder.complete
    assert decoder.result() == Parsed(
        text="The answer",
        finish_reason="stop",
        usage=Usage(input_tokens=9, output_tokens=6, reasoning_tokens=4),
        model_reported="gemini-2.0-flash-001",
        request_id="r1",
    )


def test_gemini_without_a_finish_reason_is_not_complete() -> None:
    _, decoder = _decode("gemini", _sse(_gemini("The ")))
    assert not decoder.complete and not decoder.result().usage_known


def test_gemini_blocked_prompt_and_error_event() -> None:
    with pytest.raises(ProviderError) as info:
        _decode("gemini", _sse({"promptFeedback": {"blockReason": "SAFETY"}}))
    assert info.value.kind == "content_filter"
    error = {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}
    with pytest.raises(ProviderError) as info:
        _decode("gemini", _sse(error))
    assert info.value.kind == "overloaded"


def test_stream_requests() -> None:
    """What each wire adds to ask for a stream; nothing else changes."""
    from promptctl.plan.request import ChatRequest
    from promptctl.promptfile.chat import ChatMessage
    from promptctl.promptfile.model import DEFAULT_PROVIDERS, ProviderSettings

    request = ChatRequest("p", "m", (ChatMessage("user", "hi"),))
    mistral = ProviderSettings("m", "openai-compatible", "http://x/v1", None, dialect="mistral")
    cases = [
        ("openai", DEFAULT_PROVIDERS["openai"], {"stream": True,
                                                 "stream_options": {"include_usage": True}}),
        ("anthropic", DEFAULT_PROVIDERS["anthropic"], {"stream": True}),
        ("gemini", DEFAULT_PROVIDERS["gemini"], {}),
        ("openai-compatible", mistral, {"stream": True}),
    ]  # fmt: skip
    for kind, settings, added in cases:
        adapter = load_adapter(kind)
        assert adapter.build_stream_request is not None
        plain = adapter.build_request(request, settings, "k")
        streamed = adapter.build_stream_request(request, settings, "k")
        assert streamed.body == {**plain.body, **added}, kind
        assert streamed.headers == plain.headers
        if kind == "gemini":
            stream_url = plain.url.replace(":generateContent", ":streamGenerateContent")
            assert streamed.url == stream_url + "?alt=sse"
        else:
            assert streamed.url == plain.url
