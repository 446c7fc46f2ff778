"""The fake server's streamed answers: each wire's server-sent events, as the vendors send them.

OpenAI Chat Completions: a role chunk, one chunk per piece, a finish chunk, the usage
chunk only when the request asked `stream_options.include_usage` (and the fake has usage:
`fake.usage["openai"] = None` plays llama.cpp, which sends none), then `[DONE]`.
Anthropic Messages: message_start (input usage), content_block_start, ping, one
content_block_delta per piece, content_block_stop, message_delta (stop reason, output
usage), message_stop. Gemini: one `GenerateContentResponse` per piece with cumulative
usage, the last with `finishReason`; no end marker.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from fakes.llm_server import _ANTHROPIC_TYPE, _GEMINI_STATUS, Logged

__all__ = ["error_event", "events"]


def _data(obj: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(obj)}\n\n".encode()


def events(
    wire: str, logged: Logged, pieces: list[str], usage: dict[str, Any] | None
) -> Iterator[tuple[bytes, bool]]:
    """(event bytes, whether it carries a piece of text), in order."""
    body = logged.body if isinstance(logged.body, dict) else {}
    if wire == "anthropic":
        yield from _anthropic(body, pieces, usage)
    elif wire == "gemini":
        yield from _gemini(logged.path, pieces, usage)
    else:
        yield from _openai(body, pieces, usage)


def _openai(
    body: dict[str, Any], pieces: list[str], usage: dict[str, Any] | None
) -> Iterator[tuple[bytes, bool]]:
    head = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0}
    head["model"] = body.get("model", "")

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return _data({**head, "choices": [choice]})

    yield chunk({"role": "assistant", "content": ""}), False
    for piece in pieces:
        yield chunk({"content": piece}), True
    yield chunk({}, "stop"), False
    options = body.get("stream_options") or {}
    if options.get("include_usage") and usage is not None:
        yield _data({**head, "choices": [], "usage": usage}), False
    yield b"data: [DONE]\n\n", False


def _anthropic(
    body: dict[str, Any], pieces: list[str], usage: dict[str, Any] | None
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
    block = {"type": "content_block_start", "index": 0}
    block["content_block"] = {"type": "text", "text": ""}
    yield _data(block, "content_block_start"), False
    yield _data({"type": "ping"}, "ping"), False
    for piece in pieces:
        delta = {"type": "content_block_delta", "index": 0}
        delta["delta"] = {"type": "text_delta", "text": piece}
        yield _data(delta, "content_block_delta"), True
    yield _data({"type": "content_block_stop", "index": 0}, "content_block_stop"), False
    end: dict[str, Any] = {"type": "message_delta"}
    end["delta"] = {"stop_reason": "end_turn", "stop_sequence": None}
    if "output_tokens" in usage:
        end["usage"] = {"output_tokens": usage["output_tokens"]}
    yield _data(end, "message_delta"), False
    yield _data({"type": "message_stop"}, "message_stop"), False


def _gemini(
    path: str, pieces: list[str], usage: dict[str, Any] | None
) -> Iterator[tuple[bytes, bool]]:
    model = re.search(r"models/([^:]+):", path)
    for i, piece in enumerate(pieces):
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": piece}]}}
        candidate["index"] = 0
        if i == len(pieces) - 1:
            candidate["finishReason"] = "STOP"
        chunk: dict[str, Any] = {"candidates": [candidate]}
        if usage is not None:
            chunk["usageMetadata"] = usage if i == len(pieces) - 1 else _so_far(usage)
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
    if wire == "gemini":
        status_name = _GEMINI_STATUS.get(status, "UNKNOWN")
        return _data({"error": {"code": status, "message": message, "status": status_name}})
    return _data({"error": {"message": message, "type": "server_error", "code": None}})
