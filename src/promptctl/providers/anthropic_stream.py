"""Anthropic Messages streaming (`"stream": true`).

Events: `message_start` (the message with its input usage), then per content block
`content_block_start`, `content_block_delta` (`text_delta`; thinking and signature deltas
are not answer text), `content_block_stop`; `message_delta` (stop reason and the
cumulative output usage, lately input and cache counts too), `message_stop`; `ping`
keep-alives, and `error` (e.g. `overloaded_error`) at any point. The event's data
carries its own `type`, which is what is read. A `tool_use` block's input arrives as
`input_json_delta` pieces; the forced output tool of a JSON-schema prompt (`OUTPUT_TOOL`)
is the answer itself, so its pieces are text deltas (as `anthropic.answer_of` makes its
input the text of a whole answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptctl.promptfile.chat import tool_call_from_json
from promptctl.promptfile.json_text import loads_clean
from promptctl.providers.anthropic import _FINISH as FINISH
from promptctl.providers.anthropic import OUTPUT_TOOL
from promptctl.providers.anthropic import _error as error_from_body
from promptctl.providers.base import Parsed
from promptctl.providers.shape import bad, count, opt_obj, opt_str
from promptctl.providers.sse import SSEEvent
from promptctl.providers.types import FinishReason, Usage

__all__ = ["MessagesDecoder"]


class MessagesDecoder:
    """`StreamDecoder` for Messages events."""

    __slots__ = ("_blocks", "_done", "_finish", "_id", "_model", "_parts", "_usage")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._blocks: dict[int, tuple[str, str, list[str]]] = {}  # tool_use: id, name, input
        self._finish: FinishReason | None = None
        self._usage: dict[str, Any] = {}  # merged: message_start's, then message_delta's
        self._model = ""
        self._id: str | None = None
        self._done = False

    def feed(self, event: SSEEvent) -> str:
        try:
            data = loads_clean(event.data)
        except (ValueError, RecursionError):  # RecursionError: nested past the stack
            raise bad("(event)", "is not JSON") from None
        if not isinstance(data, dict):
            raise bad("(event)", "is not an object")
        kind = data.get("type")
        if kind == "content_block_delta":
            delta = opt_obj(data.get("delta"), "delta")
            if delta.get("type") == "text_delta":
                text = opt_str(delta.get("text"), "delta.text") or ""
                self._parts.append(text)
                return text
            if delta.get("type") == "input_json_delta":
                index = data.get("index")
                tool = self._blocks.get(index) if isinstance(index, int) else None
                if tool is None:
                    raise bad("index", "names no tool_use block")
                piece = opt_str(delta.get("partial_json"), "delta.partial_json") or ""
                tool[2].append(piece)
                if tool[1] == OUTPUT_TOOL:  # the answer itself
                    self._parts.append(piece)
                    return piece
            return ""
        if kind == "content_block_start":
            block = opt_obj(data.get("content_block"), "content_block")
            if block.get("type") == "tool_use":
                index = data.get("index")
                if not isinstance(index, int):
                    raise bad("index", "is not an integer")
                name = opt_str(block.get("name"), "content_block.name") or ""
                call_id = opt_str(block.get("id"), "content_block.id") or ""
                self._blocks[index] = (call_id, name, [])
        elif kind == "message_start":
            message = opt_obj(data.get("message"), "message")
            self._model = opt_str(message.get("model"), "message.model") or ""
            self._id = opt_str(message.get("id"), "message.id")
            self._merge(message.get("usage"))
        elif kind == "message_delta":
            delta = opt_obj(data.get("delta"), "delta")
            reason = delta.get("stop_reason")
            if reason is not None:
                self._finish = FINISH.get(str(reason), "other")
            self._merge(data.get("usage"))
        elif kind == "message_stop":
            self._done = True
        elif kind == "error":
            raise error_from_body(_status(data), {}, data)
        return ""

    def _merge(self, usage: Any) -> None:
        if isinstance(usage, Mapping):
            self._usage.update((k, v) for k, v in usage.items() if v is not None)

    @property
    def complete(self) -> bool:
        return self._done

    def result(self) -> Parsed:
        raw = self._usage
        counts = (
            count(raw, "input_tokens", required=True),
            count(raw, "output_tokens", required=True),
            count(raw, "cache_read_input_tokens"),
            count(raw, "cache_creation_input_tokens"),
            count(raw, "cache_creation", "ephemeral_1h_input_tokens"),
        )
        inp, out, cache_read, cache_write, write_1h = (n or 0 for n in counts)
        calls = tuple(
            tool_call_from_json(call_id, name, "".join(pieces))
            for call_id, name, pieces in (self._blocks[i] for i in sorted(self._blocks))
            if name != OUTPUT_TOOL
        )
        finish = self._finish or "other"
        if finish == "tool_calls" and not calls:  # the forced output tool: an answer
            finish = "stop"
        return Parsed(
            text="".join(self._parts),
            finish_reason=finish,
            usage=Usage(
                input_tokens=inp + cache_read + cache_write,
                output_tokens=out,
                cached_input_tokens=cache_read,
                cache_write_tokens=cache_write,
                cache_write_1h_tokens=write_1h,
            ),
            model_reported=self._model,
            request_id=self._id,
            # output_tokens of message_start is a placeholder: known once message_delta came
            usage_known=None not in counts and self._finish is not None,
            tool_calls=calls,
        )


def _status(data: Mapping[str, Any]) -> int:
    """An error event has no HTTP status: the one its type would have had."""
    err = data.get("error")
    kind = err.get("type") if isinstance(err, Mapping) else None
    return {"overloaded_error": 529, "rate_limit_error": 429, "invalid_request_error": 400}.get(
        str(kind), 500
    )
