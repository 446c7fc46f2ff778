"""Gemini streaming (`POST …/models/{model}:streamGenerateContent?alt=sse`).

Each event's data is a whole `GenerateContentResponse` holding only the new text; the
`usageMetadata` it carries is cumulative (the last one counts) and the last chunk has
the candidate's `finishReason`. There is no end marker: a stream is complete once a
finish reason came. A prompt blocked by safety filters is a first chunk with
`promptFeedback.blockReason` and no candidates; an error mid-stream is `{"error": …}`.
A `functionCall` part comes whole, read as a whole answer reads it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from promptctl.errors import ProviderError
from promptctl.promptfile.chat import ToolCall
from promptctl.promptfile.json_text import loads_clean
from promptctl.providers.base import Parsed, WireRequest
from promptctl.providers.gemini import _FINISH as FINISH
from promptctl.providers.gemini import _error as error_from_body
from promptctl.providers.gemini import _tool_call
from promptctl.providers.shape import bad, count, obj, opt_list, opt_obj, opt_str
from promptctl.providers.sse import SSEEvent
from promptctl.providers.types import FinishReason, Usage

__all__ = ["StreamGenerateDecoder", "streaming"]


def streaming(wire: WireRequest) -> WireRequest:
    """`wire` (a generateContent call) as its server-sent-events twin."""
    url = wire.url.replace(":generateContent", ":streamGenerateContent", 1)
    return replace(wire, url=url + ("&" if "?" in url else "?") + "alt=sse")


class StreamGenerateDecoder:
    """`StreamDecoder` for `GenerateContentResponse` chunks."""

    __slots__ = ("_calls", "_finish", "_id", "_meta", "_model", "_parts")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._calls: list[ToolCall] = []
        self._finish: FinishReason | None = None
        self._meta: Any = None
        self._model = ""
        self._id: str | None = None

    def feed(self, event: SSEEvent) -> str:
        try:
            data = loads_clean(event.data)
        except (ValueError, RecursionError):  # RecursionError: nested past the stack
            raise bad("(event)", "is not JSON") from None
        if not isinstance(data, dict):
            raise bad("(event)", "is not an object")
        if "error" in data:
            raise error_from_body(_status(data), {}, data)
        if data.get("usageMetadata") is not None:
            self._meta = data["usageMetadata"]
        if not self._model:
            self._model = opt_str(data.get("modelVersion"), "modelVersion") or ""
            self._id = opt_str(data.get("responseId"), "responseId")
        candidates = opt_list(data.get("candidates"), "candidates")
        if not candidates:
            feedback = opt_obj(data.get("promptFeedback"), "promptFeedback")
            block = opt_str(feedback.get("blockReason"), "promptFeedback.blockReason")
            if block:
                raise ProviderError("content_filter", f"prompt blocked: {block}", status=200)
            return ""
        first = obj(candidates[0], "candidates[0]")
        content = opt_obj(first.get("content"), "candidates[0].content")
        texts: list[str] = []
        for i, raw in enumerate(opt_list(content.get("parts"), "candidates[0].content.parts")):
            part = obj(raw, f"candidates[0].content.parts[{i}]")
            if "functionCall" in part:
                field = f"candidates[0].content.parts[{i}].functionCall"
                self._calls.append(_tool_call(part["functionCall"], field, len(self._calls)))
            elif not part.get("thought"):
                texts.append(opt_str(part.get("text"), "candidates[0].content.parts[].text") or "")
        reason = first.get("finishReason")
        if reason is not None:
            self._finish = FINISH.get(str(reason), "other")
        text = "".join(texts)
        if text:
            self._parts.append(text)
        return text

    @property
    def complete(self) -> bool:
        return self._finish is not None

    def result(self) -> Parsed:
        meta = self._meta
        counts = (
            count(meta, "promptTokenCount", required=True),
            count(meta, "candidatesTokenCount"),
            count(meta, "cachedContentTokenCount"),
            count(meta, "thoughtsTokenCount"),
        )
        inp, out, cached, thoughts = (n or 0 for n in counts)
        finish = self._finish or "other"
        if self._calls and finish == "stop":  # Gemini says STOP after function calls too
            finish = "tool_calls"
        return Parsed(
            text="".join(self._parts),
            finish_reason=finish,
            usage=Usage(
                input_tokens=inp,
                output_tokens=out + thoughts,
                cached_input_tokens=cached,
                reasoning_tokens=thoughts,
            ),
            model_reported=self._model,
            request_id=self._id,
            usage_known=meta is not None and None not in counts and self._finish is not None,
            tool_calls=tuple(self._calls),
        )


def _status(data: dict[str, Any]) -> int:
    err = data.get("error")
    code = err.get("code") if isinstance(err, dict) else None
    return code if isinstance(code, int) and 400 <= code <= 599 else 500
