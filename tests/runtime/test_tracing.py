"""OpenTelemetry spans, tested with a tiny fake `opentelemetry` package in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

_FAKE_TRACE = """
import contextlib

SPANS = []


class _Span:
    def __init__(self, name, attributes):
        self.name = name
        self.attributes = dict(attributes or {})

    def set_attribute(self, key, value):
        self.attributes[key] = value


class _Tracer:
    @contextlib.contextmanager
    def start_as_current_span(self, name, attributes=None):
        span = _Span(name, attributes)
        try:
            yield span
        finally:
            SPANS.append(span)


def get_tracer(name):
    return _Tracer()
"""

_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from fakes.llm_server import FakeLLM, fake_providers
from runtime.helpers import prompt, write_bundle
from promptctl.runtime import Runtime
from pathlib import Path

fake = FakeLLM().start()
fake.reply("ok")
path = Path({tmp!r}) / "b.bundle.json"
write_bundle(path, [prompt()], fake_providers(fake))
env = {{"OPENAI_API_KEY": "sk-test"}}
with Runtime.load(path, env=env) as rt:
    rt.run("support/triage", ticket="t")
    hash_ = rt.prompt("support/triage").content_hash
fake.stop()
try:
    from opentelemetry import trace
    spans = [{{"name": s.name, "attributes": s.attributes}} for s in trace.SPANS]
except ImportError:
    spans = None
print(json.dumps({{"hash": hash_, "spans": spans, "otel_loaded": "opentelemetry" in sys.modules}}))
"""

TESTS = str(Path(__file__).resolve().parents[1])


def _run(tmp_path: Path, extra_path: Path | None) -> dict[str, object]:
    env = dict(os.environ)
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), env.get("PYTHONPATH", "")])
    code = _SCRIPT.format(tests=TESTS, tmp=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_each_run_is_a_genai_span(tmp_path: Path) -> None:
    fake_pkg = tmp_path / "site"
    (fake_pkg / "opentelemetry").mkdir(parents=True)
    (fake_pkg / "opentelemetry" / "__init__.py").write_text("")
    (fake_pkg / "opentelemetry" / "trace.py").write_text(_FAKE_TRACE)
    got = _run(tmp_path, fake_pkg)
    assert got["spans"] == [
        {
            "name": "chat gpt-4o-mini",
            "attributes": {
                "gen_ai.operation.name": "chat",
                "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.response.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 10,
                "gen_ai.usage.output_tokens": 5,
                "promptctl.prompt.id": "support/triage",
                "promptctl.prompt.version": "1.0.0",
                "promptctl.prompt.hash": got["hash"],
                "promptctl.target": "openai/gpt-4o-mini",
            },
        }
    ]


def test_without_opentelemetry_nothing_is_imported(tmp_path: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("opentelemetry") is not None:  # installed for real here
        return
    got = _run(tmp_path, None)
    assert got["otel_loaded"] is False and got["spans"] is None
