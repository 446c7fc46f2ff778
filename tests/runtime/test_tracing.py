"""OpenTelemetry spans and metrics, against the real opentelemetry-sdk (in-memory exporters)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.errors import ProviderError
from promptctl.promptfile.model import Target
from promptctl.runtime import Runtime
from runtime.helpers import prompt, write_bundle

otel_sdk = pytest.importorskip("opentelemetry.sdk", reason="LOUD SKIP: opentelemetry-sdk absent")

from opentelemetry import metrics, trace  # noqa: E402
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import (  # noqa: E402
    AggregationTemporality,
    InMemoryMetricReader,
)
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

KEYS = {"OPENAI_API_KEY": "sk-test-openai", "ANTHROPIC_API_KEY": "sk-ant-test"}
_SETUP: dict[str, Any] = {}


@pytest.fixture
def otel() -> Iterator[tuple[InMemorySpanExporter, InMemoryMetricReader]]:
    """The process's global SDK providers (settable once), emptied for each test."""
    if not _SETUP:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        delta = AggregationTemporality.DELTA  # each read: what happened since the last one
        reader = InMemoryMetricReader(preferred_temporality={Histogram: delta, Counter: delta})
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        _SETUP.update(exporter=exporter, reader=reader)
    exporter, reader = _SETUP["exporter"], _SETUP["reader"]
    exporter.clear()
    reader.get_metrics_data()  # drop what earlier tests recorded (delta since last read)
    yield exporter, reader


def _metrics(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                out.setdefault(metric.name, []).extend(metric.data.data_points)
    return out


def _runtime(tmp_path: Path, fake: FakeLLM, **kwargs: Any) -> Runtime:
    providers = fake_providers(fake)
    providers["openai"] = dataclasses.replace(providers["openai"], max_retries=0)
    path = tmp_path / "b.bundle.json"
    write_bundle(path, [prompt(**kwargs)], providers)
    return Runtime.load(path, env=KEYS)


def test_a_run_is_a_genai_span_with_one_attempt_child_and_metrics(
    tmp_path: Path, fake_llm: FakeLLM, otel: tuple[InMemorySpanExporter, InMemoryMetricReader]
):
    exporter, reader = otel
    with _runtime(tmp_path, fake_llm) as rt:
        result = rt.run("support/triage", ticket="t")
        content_hash = rt.prompt("support/triage").content_hash
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"chat gpt-4o-mini", "attempt gpt-4o-mini"}
    call, attempt = spans["chat gpt-4o-mini"], spans["attempt gpt-4o-mini"]
    assert result.cost_usd is not None and result.cost_usd > 0
    assert dict(call.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 5,
        "promptctl.prompt.id": "support/triage",
        "promptctl.prompt.version": "1.0.0",
        "promptctl.prompt.hash": content_hash,
        "promptctl.target": "openai/gpt-4o-mini",
        "promptctl.cost_usd": result.cost_usd,
        "promptctl.request_id": "req-1",  # the x-request-id header the fake sends first
    }
    assert attempt.parent is not None and attempt.parent.span_id == call.context.span_id
    assert attempt.attributes is not None
    assert attempt.attributes["promptctl.outcome"] == "ok"
    assert attempt.attributes["gen_ai.usage.output_tokens"] == 5
    assert attempt.start_time is not None and attempt.end_time is not None
    assert call.start_time is not None and call.end_time is not None
    assert call.start_time <= attempt.start_time <= attempt.end_time <= call.end_time

    got = _metrics(reader)
    tokens = {p.attributes["gen_ai.token.type"]: p for p in got["gen_ai.client.token.usage"]}
    assert (tokens["input"].sum, tokens["output"].sum) == (10, 5)
    assert tokens["input"].attributes["gen_ai.request.model"] == "gpt-4o-mini"
    (duration,) = got["gen_ai.client.operation.duration"]
    assert duration.count == 1 and 0 < duration.sum < 30
    (cost,) = got["promptctl.client.cost"]
    assert cost.value == pytest.approx(result.cost_usd)


def test_a_fallback_shows_in_the_call_span_and_as_two_attempts(
    tmp_path: Path, fake_llm: FakeLLM, otel: tuple[InMemorySpanExporter, InMemoryMetricReader]
):
    exporter, _ = otel
    fake_llm.error(500, wire="openai")
    backup = Target(use="anthropic/claude-3-5-haiku-latest")
    with _runtime(tmp_path, fake_llm, fallbacks=[backup]) as rt:
        rt.run("support/triage", ticket="t")
    spans = exporter.get_finished_spans()
    call = next(s for s in spans if s.name.startswith("chat"))
    assert call.attributes is not None
    assert call.attributes["promptctl.fallback_from"] == "openai/gpt-4o-mini"
    assert call.attributes["gen_ai.system"] == "anthropic"
    attempts = [s for s in spans if s.name.startswith("attempt")]
    assert [(s.attributes or {}).get("error.type") for s in attempts] == ["server", None]
    assert attempts[0].status.status_code == trace.StatusCode.ERROR
    assert (attempts[1].attributes or {})["promptctl.fallback_from"] == "openai/gpt-4o-mini"


def test_a_failed_run_is_an_error_span_and_its_duration_says_why(
    tmp_path: Path, fake_llm: FakeLLM, otel: tuple[InMemorySpanExporter, InMemoryMetricReader]
):
    exporter, reader = otel
    fake_llm.auth_error()
    with _runtime(tmp_path, fake_llm) as rt, pytest.raises(ProviderError):
        rt.run("support/triage", ticket="t")
    call = next(s for s in exporter.get_finished_spans() if s.name.startswith("chat"))
    assert call.status.status_code == trace.StatusCode.ERROR
    assert (call.attributes or {})["error.type"] == "auth"
    got = _metrics(reader)
    (duration,) = got["gen_ai.client.operation.duration"]
    assert duration.attributes["error.type"] == "auth"
    assert "gen_ai.client.token.usage" not in got


_HIDDEN = """
import json, sys
sys.modules["opentelemetry"] = None  # as if not installed: find_spec is None, import fails
sys.path.insert(0, {tests!r})
from fakes.llm_server import FakeLLM, fake_providers
from runtime.helpers import prompt, write_bundle
from promptctl.runtime import Runtime
from promptctl.runtime import _tracing
from pathlib import Path
fake = FakeLLM().start()
path = Path({tmp!r}) / "b.bundle.json"
write_bundle(path, [prompt()], fake_providers(fake))
with Runtime.load(path, env={{"OPENAI_API_KEY": "sk-test"}}, ledger=False) as rt:
    rt.run("support/triage", ticket="t")
    on_call = rt._gateway().calls.on_call
fake.stop()
loaded = [m for m, v in sys.modules.items() if m.startswith("opentelemetry") and v]
print(json.dumps({{"enabled": _tracing.enabled(), "on_call": on_call is not None,
                  "loaded": loaded}}))
"""


def test_without_opentelemetry_nothing_is_imported_and_nothing_added(tmp_path: Path) -> None:
    code = _HIDDEN.format(tests=str(Path(__file__).resolve().parents[1]), tmp=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"enabled": False, "on_call": False, "loaded": []}


def test_a_degraded_context_is_a_span_attribute(
    tmp_path: Path, fake_llm: FakeLLM, otel: tuple[InMemorySpanExporter, InMemoryMetricReader]
):
    exporter, _ = otel

    def down(inputs: Any) -> str:
        raise ConnectionError("crm down")

    with _runtime(tmp_path, fake_llm) as rt:
        rt.resolver("ticket", down, fallback="(no ticket text)")
        result = rt.run("support/triage")
    assert [n for n, _ in result.context_degraded] == ["ticket"]
    call = next(s for s in exporter.get_finished_spans() if s.name.startswith("chat"))
    assert call.attributes is not None
    assert tuple(call.attributes["promptctl.context.degraded"]) == ("ticket",)


def test_embedding_requests_are_attempt_spans_of_operation_embeddings(
    tmp_path: Path, fake_llm: FakeLLM, otel: tuple[InMemorySpanExporter, InMemoryMetricReader]
):
    exporter, _ = otel
    with _runtime(tmp_path, fake_llm) as rt:
        result = rt.embed(["a", "b"], model="openai/text-embedding-3-small")
    (span,) = exporter.get_finished_spans()
    assert span.name == "attempt text-embedding-3-small"
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.operation.name"] == "embeddings"
    assert attributes["gen_ai.usage.input_tokens"] == result.usage.input_tokens == 2
    assert attributes["promptctl.cost_usd"] == result.cost_usd


_UNCONFIGURED = """
import json, sys
sys.path.insert(0, {tests!r})
from fakes.llm_server import FakeLLM, fake_providers
from runtime.helpers import prompt, write_bundle
from promptctl.runtime import Runtime
from promptctl.runtime import _tracing
from pathlib import Path
fake = FakeLLM().start()
path = Path({tmp!r}) / "b.bundle.json"
write_bundle(path, [prompt()], fake_providers(fake))
otel = _tracing._otel()
counts = {{"span": 0, "record": 0}}
tracer, histogram = otel.tracer, otel.duration
for obj, names, what in ((tracer, ("start_as_current_span", "start_span"), "span"),
                         (histogram, ("record",), "record")):
    for name in names:
        real = getattr(obj, name)
        def counted(*a, _real=real, _what=what, **k):
            counts[_what] += 1
            return _real(*a, **k)
        setattr(obj, name, counted)
with Runtime.load(path, env={{"OPENAI_API_KEY": "sk-test"}}, ledger=False) as rt:
    rt.run("support/triage", ticket="t")  # no provider set: nothing built
    before = dict(counts)
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # set after the Runtime was built
    rt.run("support/triage", ticket="t")
fake.stop()
print(json.dumps({{"before": before, "after": counts,
                  "spans": sorted(s.name.split()[0] for s in exporter.get_finished_spans())}}))
"""


def test_installed_but_unconfigured_builds_no_span_until_a_provider_is_set(tmp_path: Path) -> None:
    """No tracer or meter provider set: a call starts no span and records no metric (the
    no-tracer path is free); a provider set after the Runtime was built is used next call."""
    code = _UNCONFIGURED.format(tests=str(Path(__file__).resolve().parents[1]), tmp=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["before"] == {"span": 0, "record": 0}
    assert got["after"]["span"] == 2  # the run's span and its attempt's
    assert got["after"]["record"] == 1  # the duration histogram
    assert got["spans"] == ["attempt", "chat"]
