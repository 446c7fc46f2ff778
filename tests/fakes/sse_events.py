"""The fake server's streamed answers: each wire's server-sent events, as the vendors send them.

OpenAI Chat Completions: a role chunk, one chunk per piece, a finish chunk, the usage
chunk only when the request asked `stream_options.include_usage` (and the fake has usage:
`fake.usage["openai"] = None` plays llama.cpp, which sends none), then `[DONE]`.
Anthropic Messages: message_start (input usage), content_block_start, ping, one
content_block_delta per piece, content_block_stop, message_delta (stop reason, output
usage), message_stop. Gemini: one `GenerateContentResponse` per piece with cumulative
usage, the last with `finishReason`; no end marker. OpenAI Responses: typed events,
response.completed last (fakes/more_wires.py).

Scripted tool calls (`fake.reply_tool_calls`) stream as each vendor sends them: OpenAI
`delta.tool_calls[]` (id and name first, then `function.arguments` in pieces), Anthropic
`tool_use` blocks with `input_json_delta` pieces (also the forced tool of a JSON-schema
prompt, as the whole-answer fake does), Gemini whole `functionCall` parts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from fakes import more_wires
from fakes.llm_server import _ANTHROPIC_TYPE, _GEMINI_STATUS, Logged, ToolCalls

__all__ = ["error_event", "events"]


def _data(obj: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(obj)}\n\n".encode()


def events(
    wire: str,
    logged: Logged,
    pieces: list[str],
    usage: dict[str, Any] | None,
    calls: ToolCalls | None = None,
    split: Callable[[str], list[str]] = lambda s: [s],
) -> Iterator[tuple[bytes, bool]]:
    """(event bytes, whether it carries a piece of the answer), in order; `split` cuts a
    tool call's arguments into pieces."""
    body = logged.body if isinstance(logged.body, dict) else {}
    if wire == "anthropic":
        if calls is None:
            calls = _forced(body, "".join(pieces))
        yield from _anthropic(body, [] if calls else pieces, usage, calls or [], split)
    elif wire == "gemini":
        yield from _gemini(logged.path, pieces, usage, calls or [])
    elif wire == "openai-responses":  # fakes/more_wires.py
        yield from more_wires.responses_events(body, pieces, usage, calls or [], split)
    else:
        yield from _openai(body, [] if calls else pieces, usage, calls or [], split)


def _args(args: dict[str, Any] | str) -> str:
    return args if isinstance(args, str) else json.dumps(args)


def _forced(body: dict[str, Any], text: str) -> ToolCalls | None:
    """A request forcing one tool (a JSON-schema prompt on Anthropic) gets the text reply
    as that tool's input, as the whole-answer fake does."""
    choice = body.get("tool_choice")
    if not (isinstance(choice, dict) and choice.get("type") == "tool"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return [(str(choice["name"]), value)] if isinstance(value, dict) else None


def _openai(
    body: dict[str, Any],
    pieces: list[str],
    usage: dict[str, Any] | None,
    calls: ToolCalls,
    split: Callable[[str], list[str]],
) -> Iterator[tuple[bytes, bool]]:
    head = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0}
    head["model"] = body.get("model", "")

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return _data({**head, "choices": [choice]})

    yield chunk({"role": "assistant", "content": None if calls else ""}), False
    for piece in pieces:
        yield chunk({"content": piece}), True
    for i, (name, args) in enumerate(calls):
        function = {"name": name, "arguments": ""}
        start = {"index": i, "id": f"call_fake_{i}", "type": "function", "function": function}
        yield chunk({"tool_calls": [start]}), False
        for piece in split(_args(args)):
            yield chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}), True
    yield chunk({}, "tool_calls" if calls else "stop"), False
    options = body.get("stream_options") or {}
    if options.get("include_usage") and usage is not None:
        yield _data({**head, "choices": [], "usage": usage}), False
    yield b"data: [DONE]\n\n", False


def _anthropic(
    body: dict[str, Any],
    pieces: list[str],
    usage: dict[str, Any] | None,
    calls: ToolCalls,
    split: Callable[[str], list[str]],
) -> Iterator[tuple[bytes, bool]]:
    usage = usage or {}
    start_usage = {k: v for k, v in usage.items() if k != "output_tokens"}
    start_usage["output_tokens"] = 1  # a placeholder, as the real API sends
    message = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", ""),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": start_usage,
    }
    yield _data({"type": "message_start", "message": message}, "message_start"), False
    yield _data({"type": "ping"}, "ping"), False
    index = 0
    if pieces:
        block = {"type": "content_block_start", "index": index}
        block["content_block"] = {"type": "text", "text": ""}
        yield _data(block, "content_block_start"), False
        for piece in pieces:
            delta = {"type": "content_block_delta", "index": index}
            delta["delta"] = {"type": "text_delta", "text": piece}
            yield _data(delta, "content_block_delta"), True
        yield _data({"type": "content_block_stop", "index": index}, "content_block_stop"), False
        index += 1
    for i, (name, args) in enumerate(calls):
        use = {"type": "tool_use", "id": f"call_fake_{i}", "name": name, "input": {}}
        block = {"type": "content_block_start", "index": index, "content_block": use}
        yield _data(block, "content_block_start"), False
        for piece in split(_args(args)):
            delta = {"type": "content_block_delta", "index": index}
            delta["delta"] = {"type": "input_json_delta", "partial_json": piece}
            yield _data(delta, "content_block_delta"), True
        yield _data({"type": "content_block_stop", "index": index}, "content_block_stop"), False
        index += 1
    end: dict[str, Any] = {"type": "message_delta"}
    reason = "tool_use" if calls else "end_turn"
    end["delta"] = {"stop_reason": reason, "stop_sequence": None}
    if "output_tokens" in usage:
        end["usage"] = {"output_tokens": usage["output_tokens"]}
    yield _data(end, "message_delta"), False
    yield _data({"type": "message_stop"}, "message_stop"), False


def _gemini(
    path: str, pieces: list[str], usage: dict[str, Any] | None, calls: ToolCalls
) -> Iterator[tuple[bytes, bool]]:
    model = re.search(r"models/([^:]+):", path)
    parts: list[list[dict[str, Any]]] = [[{"text": piece}] for piece in pieces]
    if calls:  # Gemini sends a function call whole, in one part
        parts = [[{"functionCall": {"name": n, "args": a}} for n, a in calls]]
    for i, part in enumerate(parts):
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": part}}
        candidate["index"] = 0
        if i == len(parts) - 1:
            candidate["finishReason"] = "STOP"
        chunk: dict[str, Any] = {"candidates": [candidate]}
        if usage is not None:
            chunk["usageMetadata"] = usage if i == len(parts) - 1 else _so_far(usage)
        chunk["modelVersion"] = model.group(1) if model else ""
        chunk["responseId"] = "resp-fake"
        yield _data(chunk), True


def _so_far(usage: dict[str, Any]) -> dict[str, Any]:
    """An intermediate chunk's usage: the prompt counted, the output not yet."""
    return {k: v for k, v in usage.items() if k not in ("candidatesTokenCount", "totalTokenCount")}


def error_event(wire: str, status: int, message: str) -> bytes:
    """The error event each wire sends mid-stream."""
    if wire == "anthropic":
        error = {"type": _ANTHROPIC_TYPE.get(status, "api_error"), "message": message}
        return _data({"type": "error", "error": error}, "error")
    if wire == "openai-responses":
        return more_wires.responses_error_event(status, message)
    if wire == "gemini":
        status_name = _GEMINI_STATUS.get(status, "UNKNOWN")
        return _data({"error": {"code": status, "message": message, "status": status_name}})
    return _data({"error": {"message": message, "type": "server_error", "code": None}})
