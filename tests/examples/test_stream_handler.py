"""examples/stream_handler.py, run as written against the fake provider server."""

from __future__ import annotations

import importlib.util
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from fakes import http
from fakes.llm_server import FakeLLM, fake_providers
from promptctl.ledger.store import connect
from promptctl.promptfile.model import Target
from promptctl.providers.sse import SSEParser
from promptctl.runtime import Runtime
from runtime.helpers import prompt, write_bundle

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stream_handler.py"
BACKUP = "anthropic/claude-3-5-haiku-latest"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stream_handler", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def app(tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str]) -> Iterator[str]:
    """The example's server on a free port, over a bundle whose providers are the fake."""
    bundle = tmp_path / "app.bundle.json"
    reply = prompt("support/reply", fallbacks=(Target(use=BACKUP),))
    write_bundle(bundle, [reply], fake_providers(fake_llm, max_retries=0))
    with Runtime.load(bundle, env=fake_env, ledger=tmp_path / "ledger.sqlite") as rt:
        server = _example().serve(rt, port=0)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/reply"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)


def _events(url: str, body: dict[str, Any]) -> list[tuple[str, Any]]:
    parser = SSEParser()
    events = []
    with http.stream("POST", url, json=body, timeout=10) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "text/event-stream"
        for chunk in resp.iter_bytes():
            events += parser.feed(chunk)
    return [(e.event, json.loads(e.data)) for e in events + parser.close()]


def test_streams_the_reply_with_fallback(app: str, fake_llm: FakeLLM) -> None:
    fake_llm.reply("Your invoice is corrected.")
    fake_llm.stream_error(after=0, wire="openai")  # the primary fails before its first token
    events = _events(app, {"ticket": "My invoice is wrong"})
    *deltas, (name, done) = events
    assert [d for _, d in deltas] == [
        {"text": "Your "},
        {"text": "invoice "},
        {"text": "is "},
        {"text": "corrected."},
    ]
    assert name == "done" and done["model"] == BACKUP
    assert done["fallbacks_tried"] == [{"target": "openai/gpt-4o-mini", "reason": "server"}]
    assert done["ttft_ms"] > 0 and done["cost_usd"] > 0 and done["output_tokens"] == 5


def test_a_stream_broken_after_text_ends_with_an_error_event(app: str, fake_llm: FakeLLM) -> None:
    fake_llm.reply("one two three")
    fake_llm.stream_cut(after=1, wire="openai")
    events = _events(app, {"ticket": "t"})
    assert events[0] == ("delta", {"text": "one "})
    name, error = events[-1]
    assert name == "error" and error["partial_text"] == "one "
    assert "stream broken" in error["message"]
    assert fake_llm.calls["anthropic"] == 0  # never replayed elsewhere


def test_bad_inputs_are_a_400_before_any_call(app: str, fake_llm: FakeLLM) -> None:
    resp = http.post(app, json={"tickt": "typo"}, timeout=10)
    assert resp.status_code == 400 and "ticket" in resp.json()["error"]
    assert fake_llm.requests == []


def test_a_browser_leaving_closes_the_provider_stream(
    app: str, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    fake_llm.reply(" ".join(["word"] * 400))
    fake_llm.stream_delay_s = 0.01
    with http.stream("POST", app, json={"ticket": "t"}, timeout=10) as resp:
        next(resp.iter_bytes())
    deadline = time.monotonic() + 5
    rows: list[Any] = []
    while time.monotonic() < deadline and not (rows and fake_llm.streams_aborted):
        time.sleep(0.05)
        db = connect(tmp_path / "ledger.sqlite", readonly=True)
        rows = db.execute("SELECT outcome, error_kind FROM calls").fetchall()
        db.close()
    assert [tuple(r) for r in rows] == [("error", "cancelled")]
    assert fake_llm.streams_aborted == 1


def test_the_docstrings_curl_body_fits_the_shipped_prompt() -> None:
    # The docstring's `curl -d '{...}'` must be inputs the repository's support/reply
    # takes: its body once named an input ('ticket') that prompt does not have.
    from promptctl.promptfile.project import load_project
    from promptctl.publish.selection import select_for_publish

    doc = _example().__doc__ or ""
    found = re.search(r"curl -N -d '(\{.*\})' localhost:\d+/reply", doc)
    assert found, "the docstring shows no curl call"
    body = json.loads(found.group(1))
    project = load_project(EXAMPLE.parents[1] / "promptctl.yaml")
    (reply,) = select_for_publish(project, [_example().PROMPT_ID]).prompts
    assert set(body) <= set(reply.inputs), set(body) - set(reply.inputs)
    assert set(reply.required_inputs()) <= set(body)
