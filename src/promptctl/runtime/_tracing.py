"""OpenTelemetry spans, only when `opentelemetry-api` is installed.

Checked once with `importlib.util.find_spec`; without the package nothing is imported
and `span()` is a no-op. Attributes follow the GenAI semantic conventions
(`gen_ai.*`) plus `promptctl.prompt.id/.version/.hash`, so any tracing backend can
group calls by prompt version.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from promptctl.promptfile.model import Prompt
from promptctl.providers.types import ChatResponse

__all__ = ["Span", "span"]

_TRACER: Any = None
_CHECKED = False


def _tracer() -> Any:
    global _TRACER, _CHECKED
    if not _CHECKED:
        _CHECKED = True
        if importlib.util.find_spec("opentelemetry") is not None:
            try:
                from opentelemetry import trace
            except ImportError:
                return None
            _TRACER = trace.get_tracer("promptctl.runtime")
    return _TRACER


class Span:
    """What the runtime reports into a span; a no-op without a tracer."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def answered(self, response: ChatResponse) -> None:
        if self._inner is None:
            return
        self._inner.set_attribute("gen_ai.response.model", response.model_reported or "")
        self._inner.set_attribute("gen_ai.usage.input_tokens", response.usage.input_tokens)
        self._inner.set_attribute("gen_ai.usage.output_tokens", response.usage.output_tokens)
        self._inner.set_attribute("promptctl.target", response.target)
        if response.fallbacks_tried:
            tried = ",".join(s.target for s in response.fallbacks_tried)
            self._inner.set_attribute("promptctl.fallbacks_tried", tried)

    def degraded(self, degraded: tuple[tuple[str, str], ...]) -> None:
        """`promptctl.context.degraded`: the inputs served from a fallback or default."""
        if self._inner is None or not degraded:
            return
        self._inner.set_attribute("promptctl.context.degraded", [n for n, _ in degraded])

    def failed(self, exc: BaseException) -> None:
        if self._inner is None:
            return
        self._inner.set_attribute("error.type", getattr(exc, "kind", type(exc).__name__))


@contextmanager
def span(prompt: Prompt, target: str) -> Iterator[Span]:
    """A `chat {model}` span around one run (the exception is recorded and re-raised)."""
    tracer = _tracer()
    if tracer is None:
        yield Span(None)
        return
    provider, _, model = target.partition("/")
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": provider,
        "gen_ai.request.model": model,
        "promptctl.prompt.id": prompt.id,
        "promptctl.prompt.version": prompt.version,
        "promptctl.prompt.hash": prompt.content_hash,
    }
    with tracer.start_as_current_span(f"chat {model}", attributes=attributes) as inner:
        handle = Span(inner)
        try:
            yield handle
        except BaseException as exc:
            handle.failed(exc)
            raise
