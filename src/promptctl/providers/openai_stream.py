"""Chat Completions streaming (`"stream": true`), shared by OpenAI, Azure and compatible servers.

Each event's data is a `chat.completion.chunk`: text in `choices[0].delta.content`, the
finish reason on the last choice chunk, and with `stream_options.include_usage` one more
chunk with empty `choices` and the `usage`; then `data: [DONE]`. Compatible servers vary:
llama.cpp and others may send no usage (the cost is then unknown, not free) and some
omit `[DONE]`, so a stream that ended after its finish reason counts as complete. An
error mid-stream arrives as `data: {"error": {...}}`. Tool calls arrive as
`delta.tool_calls[]`: the first piece of each (by `index`) has its id and name, later
pieces append to `function.arguments`, parsed once the stream ends.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from promptctl.promptfile.chat import ToolCall, tool_call_from_json
from promptctl.promptfile.json_text import loads_clean
from promptctl.providers.base import Parsed, WireRequest
from promptctl.providers.openai import _FINISH as FINISH
from promptctl.providers.openai import _error as error_from_body
from promptctl.providers.shape import bad, count, obj, opt_list, opt_obj, opt_str
from promptctl.providers.sse import SSEEvent
from promptctl.providers.types import FinishReason, Usage

__all__ = ["ChatCompletionsDecoder", "streaming"]


def streaming(wire: WireRequest, *, include_usage: bool = True) -> WireRequest:
    """`wire` asking for server-sent events (and, by default, the usage chunk at the end)."""
    body = {**wire.body, "stream": True}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    return replace(wire, body=body)


class ChatCompletionsDecoder:
    """`StreamDecoder` for `chat.completion.chunk` events."""

    __slots__ = ("_calls", "_finish", "_id", "_model", "_parts", "_refusal", "_usage")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._calls: dict[int, tuple[str, str, list[str]]] = {}  # index -> id, name, args
        self._refusal: list[str] = []
        self._finish: FinishReason | None = None
        self._usage: Any = None
        self._model = ""
        self._id: str | None = None

    def feed(self, event: SSEEvent) -> str:
        if event.data == "[DONE]":  # an end marker only: a finish reason ends the answer
            return ""
        try:
            data = loads_clean(event.data)
        except (ValueError, RecursionError):  # RecursionError: nested past the stack
            raise bad("(event)", "is not JSON") from None
        if not isinstance(data, dict):
            raise bad("(event)", "is not an object")
        if "error" in data and "choices" not in data:
            raise error_from_body(500, {}, data)
        if not self._model:
            self._model = opt_str(data.get("model"), "model") or ""
            self._id = opt_str(data.get("id"), "id")
        usage = data.get("usage")
        if usage is not None:
            self._usage = usage
        text = ""
        for raw in opt_list(data.get("choices"), "choices"):
            choice = obj(raw, "choices[]")
            if choice.get("index", 0) != 0:
                continue
            delta = opt_obj(choice.get("delta"), "choices[0].delta")
            content = delta.get("content")
            if content:
                text = opt_str(content, "choices[0].delta.content") or ""
                self._parts.append(text)
            calls = delta.get("tool_calls")
            if calls:
                self._tool_deltas(calls)
            refusal = delta.get("refusal")
            if refusal:
                self._refusal.append(opt_str(refusal, "choices[0].delta.refusal") or "")
            finish = choice.get("finish_reason")
            if finish is not None:
                self._finish = FINISH.get(str(finish), "other")
        return text

    def _tool_deltas(self, calls: Any) -> None:
        for raw in opt_list(calls, "choices[0].delta.tool_calls"):
            call = obj(raw, "choices[0].delta.tool_calls[]")
            index = call.get("index", len(self._calls))
            if not isinstance(index, int):
                raise bad("choices[0].delta.tool_calls[].index", "is not an integer")
            function = opt_obj(call.get("function"), "choices[0].delta.tool_calls[].function")
            call_id, name, args = self._calls.get(index, ("", "", []))
            call_id = opt_str(call.get("id"), "choices[0].delta.tool_calls[].id") or call_id
            name = opt_str(function.get("name"), "tool_calls[].function.name") or name
            piece = function.get("arguments")
            if isinstance(piece, dict):  # some compatible servers send the object whole
                piece = json.dumps(piece)
            args.append(opt_str(piece, "tool_calls[].function.arguments") or "")
            self._calls[index] = (call_id, name, args)

    def _tool_calls(self) -> tuple[ToolCall, ...]:
        out = []
        for index in sorted(self._calls):
            call_id, name, args = self._calls[index]
            if not name:
                raise bad(f"tool_calls[{index}].function.name", "is missing")
            out.append(tool_call_from_json(call_id or f"call_{index}", name, "".join(args)))
        return tuple(out)

    @property
    def complete(self) -> bool:
        """Only a finish reason ends an answer. `[DONE]` without one is a stream the server
        dropped: llama-cpp-python, serving concurrent streams, ends some with `[DONE]`
        after the role chunk or mid-sentence (seen against a real server), which must not
        pass for an empty or a whole answer."""
        return self._finish is not None

    def result(self) -> Parsed:
        text = "".join(self._parts)
        finish: FinishReason = self._finish or "other"
        if not text and self._refusal:
            text, finish = "".join(self._refusal), "content_filter"
        raw = self._usage
        counts = (
            count(raw, "prompt_tokens", required=True),
            count(raw, "completion_tokens", required=True),
            count(raw, "prompt_tokens_details", "cached_tokens"),
            count(raw, "completion_tokens_details", "reasoning_tokens"),
        )
        inp, out, cached, reasoning = (n or 0 for n in counts)
        return Parsed(
            text=text,
            finish_reason=finish,
            usage=Usage(
                input_tokens=inp,
                output_tokens=out,
                cached_input_tokens=cached,
                reasoning_tokens=reasoning,
            ),
            model_reported=self._model,
            request_id=self._id,
            usage_known=None not in counts,
            tool_calls=self._tool_calls() if self._calls else (),
        )
