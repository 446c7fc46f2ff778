"""OpenAI Responses API streaming (`"stream": true`): typed server-sent events.

Text arrives in `response.output_text.delta` events; the stream ends with
`response.completed` (or `response.incomplete`) carrying the whole `Response`, whose
usage (cached and reasoning tokens included), finish reason and function calls (their
arguments assembled by the server) are read exactly as a non-streamed answer
(`read_response`). `response.failed` and `error` events raise the error their code
means; a stream that stops before its final event is cut (`complete` is False) and
`result()` holds the text so far with the usage unknown.
"""

from __future__ import annotations

from dataclasses import replace

from promptctl.promptfile.json_text import loads_clean
from promptctl.providers.base import Parsed
from promptctl.providers.openai_responses import _error, read_response
from promptctl.providers.shape import bad, obj, opt_obj, opt_str
from promptctl.providers.sse import SSEEvent
from promptctl.providers.types import FinishReason

__all__ = ["ResponsesDecoder"]


class ResponsesDecoder:
    """`StreamDecoder` for the Responses API's events."""

    __slots__ = ("_final", "_id", "_model", "_parts", "_refusal")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._refusal: list[str] = []
        self._final: Parsed | None = None
        self._model = ""
        self._id: str | None = None

    def feed(self, event: SSEEvent) -> str:
        try:
            data = loads_clean(event.data)
        except (ValueError, RecursionError):  # RecursionError: nested past the stack
            raise bad("(event)", "is not JSON") from None
        if not isinstance(data, dict):
            raise bad("(event)", "is not an object")
        kind = data.get("type") or event.event
        if kind == "response.output_text.delta":
            text = opt_str(data.get("delta"), "delta") or ""
            self._parts.append(text)
            return text
        if kind == "response.refusal.delta":
            self._refusal.append(opt_str(data.get("delta"), "delta") or "")
        elif kind in ("response.created", "response.in_progress"):
            response = opt_obj(data.get("response"), "response")
            self._model = opt_str(response.get("model"), "response.model") or self._model
            self._id = opt_str(response.get("id"), "response.id") or self._id
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            self._final = read_response(obj(data.get("response"), "response"))  # failed: raises
        elif kind == "error":
            raise _error(500, {}, {"error": data})
        return ""

    @property
    def complete(self) -> bool:
        return self._final is not None

    def result(self) -> Parsed:
        streamed = "".join(self._parts)
        if self._final is not None:
            return replace(self._final, text=streamed) if streamed else self._final
        text: str = streamed
        finish: FinishReason = "other"
        if not text and self._refusal:
            text, finish = "".join(self._refusal), "content_filter"
        return Parsed(
            text=text,
            finish_reason=finish,
            model_reported=self._model,
            request_id=self._id,
            usage_known=False,
        )
