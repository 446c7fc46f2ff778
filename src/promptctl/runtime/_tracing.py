"""OpenTelemetry spans and metrics, only when `opentelemetry-api` is installed.

Checked once with `importlib.util.find_spec`; without the package nothing is imported,
`span()` is a no-op and `enabled()` is False (the runtime then adds nothing to a call).
Installed but not configured (no tracer or meter provider set, the API's proxies in
place), each call checks that in two identity tests and records nothing: spans and
metrics would go nowhere, and building them cost ~20 µs per call. A provider set later
(after the Runtime was built) is used from the next call on.
With it (the `otel` extra), each run is a `chat {model}` span whose
children are its provider attempts (one per `CallRecord`: retries and fallbacks
included), all with the GenAI semantic-convention attributes (`gen_ai.*`) plus
`promptctl.prompt.id/.version/.hash`, `promptctl.cost_usd` and `promptctl.fallback_from`,
so any backend can group calls by prompt version. Metrics: the GenAI histograms
`gen_ai.client.token.usage` and `gen_ai.client.operation.duration`, and the counter
`promptctl.client.cost` (USD). The application configures the SDK and its exporters;
promptctl only uses the API.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from promptctl.promptfile.model import Prompt
from promptctl.providers.types import ChatResponse

if TYPE_CHECKING:
    from promptctl.providers.types import CallRecord

__all__ = ["Span", "enabled", "record_attempt", "span"]


@dataclass(frozen=True)
class _Otel:
    trace: Any  # the opentelemetry.trace module
    metrics: Any  # the opentelemetry.metrics module
    tracer: Any
    token_usage: Any
    duration: Any
    cost: Any
    idle_tracers: tuple[type, ...]  # provider types that record nothing
    idle_meters: tuple[type, ...]

    unset: Any = None  # the API's "no provider set yet" globals, when readable

    def configured(self) -> bool:
        """Whether the application set a tracer or meter provider (else the API's proxies
        and no-ops are in place and nothing would be recorded)."""
        unset = self.unset
        if unset is not None and unset():
            return False  # 0.2 µs; asking the API also reads os.environ twice (1.7 µs)
        return not isinstance(self.trace.get_tracer_provider(), self.idle_tracers) or not (
            isinstance(self.metrics.get_meter_provider(), self.idle_meters)
        )


_OTEL: _Otel | None = None
_CHECKED = False


def _otel() -> _Otel | None:
    global _OTEL, _CHECKED
    if not _CHECKED:
        _CHECKED = True
        if importlib.util.find_spec("opentelemetry") is not None:
            try:
                from opentelemetry import metrics, trace
            except ImportError:
                return None
            meter = metrics.get_meter("promptctl.runtime")
            idle_meters: tuple[type, ...] = (metrics.NoOpMeterProvider,)
            try:
                from opentelemetry.metrics._internal import _ProxyMeterProvider
            except ImportError:  # another API version: its proxy counts as configured
                pass
            else:
                idle_meters += (_ProxyMeterProvider,)
            _OTEL = _Otel(
                unset=_unset_check(trace),
                trace=trace,
                metrics=metrics,
                idle_tracers=(trace.ProxyTracerProvider, trace.NoOpTracerProvider),
                idle_meters=idle_meters,
                tracer=trace.get_tracer("promptctl.runtime"),
                token_usage=meter.create_histogram(
                    "gen_ai.client.token.usage",
                    unit="{token}",
                    description="Tokens used per call, by gen_ai.token.type",
                ),
                duration=meter.create_histogram(
                    "gen_ai.client.operation.duration",
                    unit="s",
                    description="Duration of a call, retries and fallbacks included",
                ),
                cost=meter.create_counter(
                    "promptctl.client.cost", unit="USD", description="Spending on provider calls"
                ),
            )
    return _OTEL


def _unset_check(trace: Any) -> Any:
    """A fast "no provider set" test over the API's module globals (None when this API
    version has other ones, or when a provider is named in the environment: then the API
    sets it on first use, and `configured` asks the API)."""
    import os

    try:
        from opentelemetry.metrics import _internal as metrics_state
    except ImportError:
        return None
    names = ("OTEL_PYTHON_TRACER_PROVIDER", "OTEL_PYTHON_METER_PROVIDER")
    if any(n in os.environ for n in names):
        return None
    if not hasattr(trace, "_TRACER_PROVIDER") or not hasattr(metrics_state, "_METER_PROVIDER"):
        return None

    def unset() -> bool:
        return trace._TRACER_PROVIDER is None and metrics_state._METER_PROVIDER is None

    return unset


def enabled() -> bool:
    """Whether OpenTelemetry is installed (the runtime then records attempt spans)."""
    return _otel() is not None


def _active() -> _Otel | None:
    """OpenTelemetry when installed and configured by the application; None otherwise."""
    otel = _OTEL if _CHECKED else _otel()
    return otel if otel is not None and otel.configured() else None


def _split(target: str) -> tuple[str, str]:
    provider, _, model = target.partition("/")
    return provider, model


class Span:
    """What the runtime reports into a span; a no-op without OpenTelemetry."""

    def __init__(self, inner: Any, metric_attrs: dict[str, str]) -> None:
        self._inner = inner
        self.metric_attrs = metric_attrs

    def __enter__(self) -> Span:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def answered(self, response: ChatResponse) -> None:
        otel = _otel()
        if self._inner is None or otel is None:
            return
        inner = self._inner
        provider, model = _split(response.target)
        response_model = response.model_reported or model
        inner.set_attribute("gen_ai.system", provider)
        inner.set_attribute("gen_ai.response.model", response_model)
        inner.set_attribute("gen_ai.usage.input_tokens", response.usage.input_tokens)
        inner.set_attribute("gen_ai.usage.output_tokens", response.usage.output_tokens)
        if response.finish_reason:
            inner.set_attribute("gen_ai.response.finish_reasons", (response.finish_reason,))
        if response.request_id:
            inner.set_attribute("promptctl.request_id", response.request_id)
        inner.set_attribute("promptctl.target", response.target)
        if response.cost_usd is not None:
            inner.set_attribute("promptctl.cost_usd", response.cost_usd)
        if response.fallbacks_tried:
            inner.set_attribute("promptctl.fallback_from", response.fallbacks_tried[0].target)
            tried = ",".join(s.target for s in response.fallbacks_tried)
            inner.set_attribute("promptctl.fallbacks_tried", tried)
        attrs = self.metric_attrs | {"gen_ai.system": provider}
        attrs["gen_ai.response.model"] = response_model
        self.metric_attrs = attrs
        for kind, count in (
            ("input", response.usage.input_tokens),
            ("output", response.usage.output_tokens),
        ):
            otel.token_usage.record(count, attrs | {"gen_ai.token.type": kind})
        if response.cost_usd:
            otel.cost.add(response.cost_usd, attrs)

    def degraded(self, degraded: tuple[tuple[str, str], ...]) -> None:
        """`promptctl.context.degraded`: the inputs served from a fallback or default."""
        if self._inner is None or not degraded:
            return
        self._inner.set_attribute("promptctl.context.degraded", [n for n, _ in degraded])

    def failed(self, exc: BaseException) -> None:
        if self._inner is None:
            return
        kind = str(getattr(exc, "kind", type(exc).__name__))
        self._inner.set_attribute("error.type", kind)
        self.metric_attrs = self.metric_attrs | {"error.type": kind}


_NO_SPAN = Span(None, {})  # its own context manager: entering and leaving do nothing


def span(prompt: Prompt, target: str) -> AbstractContextManager[Span]:
    """A `chat {model}` span around one run (the exception is recorded and re-raised);
    a shared no-op when OpenTelemetry is absent or not configured."""
    otel = _active()
    if otel is None:
        return _NO_SPAN
    return _span(otel, prompt, target)


@contextmanager
def _span(otel: _Otel, prompt: Prompt, target: str) -> Iterator[Span]:
    provider, model = _split(target)
    metric_attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": provider,
        "gen_ai.request.model": model,
        "promptctl.prompt.id": prompt.id,
    }
    attributes = metric_attrs | {
        "promptctl.prompt.version": prompt.version,
        "promptctl.prompt.hash": prompt.content_hash,
    }
    started = time.perf_counter()
    with otel.tracer.start_as_current_span(f"chat {model}", attributes=attributes) as inner:
        handle = Span(inner, metric_attrs)
        try:
            yield handle
        except BaseException as exc:
            handle.failed(exc)
            raise
        finally:
            otel.duration.record(time.perf_counter() - started, handle.metric_attrs)


def record_attempt(record: CallRecord) -> None:
    """One provider attempt (a `CallRecord`) as a child span of the current run's span."""
    otel = _active()
    if otel is None:
        return
    provider, model = _split(record.target)
    end_ns = int(record.timestamp * 1e9)
    start_ns = end_ns - int(record.latency_ms * 1e6)
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "embeddings" if record.context.operation == "embed" else "chat",
        "gen_ai.system": provider,
        "gen_ai.request.model": model,
        "promptctl.outcome": record.outcome,
    }
    if record.context.prompt_id:
        attributes["promptctl.prompt.id"] = record.context.prompt_id
    if record.context.prompt_version:
        attributes["promptctl.prompt.version"] = record.context.prompt_version
    if record.fallback_from:
        attributes["promptctl.fallback_from"] = record.fallback_from
    if record.outcome == "error":
        attributes["error.type"] = record.error_kind or "error"
    else:
        attributes["gen_ai.response.model"] = record.model_reported or model
        attributes["gen_ai.usage.input_tokens"] = record.usage.input_tokens
        attributes["gen_ai.usage.output_tokens"] = record.usage.output_tokens
        if record.cost_usd is not None:
            attributes["promptctl.cost_usd"] = record.cost_usd
    inner = otel.tracer.start_span(f"attempt {model}", start_time=start_ns, attributes=attributes)
    if record.outcome == "error":
        inner.set_status(otel.trace.Status(otel.trace.StatusCode.ERROR, record.error_kind))
    inner.end(end_time=end_ns)
