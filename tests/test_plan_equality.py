"""What `promptctl test` sends is what an application sends (DESIGN.md, "the same path").

For each row of the table, a real project on disk (promptctl.yaml pointing at the fake
LLM server) is evaluated with `promptctl test` (the real CLI, in-process) and published
into a bundle that `Runtime.run` loads; both runs hit the same fake server with the same
faults queued, and the HTTP requests they make — method, path and body bytes, in order —
must be identical. `promptctl render --format json` must show the first request's body.

Rows with a `--target` override load the runtime with the same pin
(`Runtime.load(..., targets={id: model})`).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from fakes.cli import run as run_cli
from fakes.llm_server import FakeLLM
from promptctl.bundle.format import build_bundle, serialize
from promptctl.promptfile.project import load_project
from promptctl.publish.selection import select_for_publish
from promptctl.runtime import Runtime

KEYS = {
    "OPENAI_API_KEY": "sk-test-openai-0123456789abcdef",
    "ANTHROPIC_API_KEY": "sk-ant-test-0123456789abcdef",
    "GEMINI_API_KEY": "AIzaFakeGeminiKey0123456789abcdef",
}

SCHEMA = {
    "type": "object",
    "required": ["category"],
    "properties": {"category": {"enum": ["billing", "bug", "other"]}},
}


@dataclass(frozen=True)
class Row:
    name: str
    model: dict[str, Any]
    vars: dict[str, Any]
    messages: list[Any] = field(default_factory=lambda: [{"user": "Ticket: {{ ticket }}"}])
    inputs: dict[str, Any] = field(
        default_factory=lambda: {
            "ticket": {"type": "string"},
            "tier": {"type": "string", "default": "free"},
        }
    )
    output: dict[str, Any] | None = None
    target: str | None = None
    # faults queued before each side runs: (wire, status) answered in order
    faults: tuple[tuple[str, int], ...] = ()
    expect_paths: tuple[str, ...] = ()  # the requests' paths, to show the row does its job
    extra: dict[str, Any] = field(default_factory=dict)  # more top-level keys (tools:)


OPENAI = "/v1/chat/completions"
ANTHROPIC = "/v1/messages"
GEMINI = "/v1beta/models/gemini-2.0-flash:generateContent"

HISTORY_INPUTS = {
    "ticket": {"type": "string"},
    "tier": {"type": "string", "default": "free"},
    "history": {"type": "array", "default": []},
}


def _long_history(turns: int) -> list[dict[str, str]]:
    """`turns` user/assistant pairs of ~950 bytes each: 300 overflow gpt-4o-mini's window."""
    out = []
    for i in range(turns):
        out.append({"role": "user", "content": f"Q{i}: " + "my order has not arrived yet " * 33})
        out.append({"role": "assistant", "content": f"A{i}: " + "let me check that for you " * 36})
    return out


TOOLS = {
    "tools": [
        {
            "name": "lookup_order",
            "description": "Find an order by id.",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "string"}, "verbose": {"type": "boolean"}},
                "required": ["order_id"],
            },
        },
        {"name": "escalate", "description": "Hand over to a human."},
    ],
    "tool_choice": "required",
}
TOOL_HISTORY = [
    {"role": "user", "content": "where is A-1?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": "c1", "name": "lookup_order", "arguments": {"order_id": "A-1"}}],
    },
    {"role": "tool", "tool_call_id": "c1", "content": '{"status": "shipped"}'},
]

ROWS = [
    Row(
        "tools, tool_choice and tool history on every wire, failing over",
        {
            "use": "openai/gpt-4o-mini",
            "fallbacks": ["anthropic/claude-3-5-haiku-latest", "gemini/gemini-2.0-flash"],
        },
        {"ticket": "and A-2?", "history": TOOL_HISTORY},
        messages=[{"system": "Help."}, {"history": "history"}, {"user": "{{ ticket }}"}],
        inputs=HISTORY_INPUTS,
        output={"format": "json", "schema": SCHEMA},
        faults=(("openai", 503), ("anthropic", 529)),
        expect_paths=(OPENAI, ANTHROPIC, GEMINI),
        extra=TOOLS,
    ),
    Row(
        "plain text",
        {"use": "openai/gpt-4o-mini", "params": {"temperature": 0, "max_tokens": 50}},
        {"ticket": "refund please"},
        expect_paths=(OPENAI,),
    ),
    Row(
        "json output with schema",
        {"use": "anthropic/claude-3-5-haiku-latest", "params": {"max_tokens": 80}},
        {"ticket": "refund please"},
        output={"format": "json", "schema": SCHEMA},
        expect_paths=(ANTHROPIC,),
    ),
    Row(
        "route picks the model",
        {
            "use": "openai/gpt-4o-mini",
            "params": {"temperature": 0.2},
            "routes": [{"when": "tier == 'enterprise'", "use": "gemini/gemini-2.0-flash"}],
            "fallbacks": ["openai/gpt-4o"],
        },
        {"ticket": "down again", "tier": "enterprise"},
        expect_paths=(GEMINI,),
    ),
    Row(
        "routed primary fails over; the fallback equal to the route is dropped",
        {
            "use": "openai/gpt-4o-mini",
            "routes": [{"when": "tier == 'enterprise'", "use": "gemini/gemini-2.0-flash"}],
            "fallbacks": [
                {"use": "gemini/gemini-2.0-flash", "params": {"temperature": 1}},
                "anthropic/claude-3-5-haiku-latest",
            ],
        },
        {"ticket": "down again", "tier": "enterprise"},
        faults=(("gemini", 503),),
        expect_paths=(GEMINI, ANTHROPIC),
    ),
    Row(
        "fallback with its own messages and params answers",
        {
            "use": "openai/gpt-4o-mini",
            "params": {"temperature": 0, "max_tokens": 100},
            "fallbacks": [
                {
                    "use": "anthropic/claude-3-5-haiku-latest",
                    "params": {"max_tokens": 300, "top_k": 5},
                    "messages": [
                        {"system": "You are Claude. Tier {{ tier }}."},
                        {"user": "<ticket>{{ ticket }}</ticket>"},
                    ],
                },
                "gemini/gemini-2.0-flash",
            ],
        },
        {"ticket": "charged twice"},
        output={"format": "json", "schema": SCHEMA},
        faults=(("openai", 500),),
        expect_paths=(OPENAI, ANTHROPIC),
    ),
    Row(
        "whole chain fails over to the last fallback",
        {
            "use": "openai/gpt-4o-mini",
            "fallbacks": [
                {
                    "use": "anthropic/claude-3-5-haiku-latest",
                    "messages": [{"user": "{{ ticket }}"}],
                },
                "gemini/gemini-2.0-flash",
            ],
        },
        {"ticket": "charged twice"},
        faults=(("openai", 503), ("anthropic", 529)),
        expect_paths=(OPENAI, ANTHROPIC, GEMINI),
    ),
    Row(
        "history spliced in, partial included",
        {"use": "openai/gpt-4o-mini", "fallbacks": ["anthropic/claude-3-5-haiku-latest"]},
        {
            "ticket": "still broken",
            "history": [
                {"role": "user", "content": "it broke"},
                {"role": "assistant", "content": "try a restart"},
            ],
        },
        messages=[
            {"system": '{% include "tone.j2" %}\nClassify.'},
            {"history": "history"},
            {"user": "Ticket ({{ tier }}): {{ ticket }}"},
        ],
        inputs={
            "ticket": {"type": "string"},
            "tier": {"type": "string", "default": "free"},
            "history": {"type": "array", "default": []},
        },
        faults=(("openai", 500),),
        expect_paths=(OPENAI, ANTHROPIC),
    ),
    Row(
        "300-turn history trimmed to the window, oldest turns first",
        {"use": "openai/gpt-4o-mini", "params": {"max_tokens": 1000}},
        {"ticket": "where is it?", "history": _long_history(300)},
        messages=[{"system": "Help."}, {"history": "history"}, {"user": "{{ ticket }}"}],
        inputs=HISTORY_INPUTS,
        expect_paths=(OPENAI,),
    ),
    Row(
        "history budget keeps the newest whole turns",
        {"use": "openai/gpt-4o-mini"},
        {"ticket": "and now?", "history": _long_history(5)},
        messages=[
            {"system": "Help."},
            {"history": "history", "max_messages": 5, "max_tokens": 100000},
            {"user": "{{ ticket }}"},
        ],
        inputs=HISTORY_INPUTS,
        expect_paths=(OPENAI,),
    ),
    Row(
        "--target a fallback with its own messages pins it",
        {
            "use": "openai/gpt-4o-mini",
            "params": {"temperature": 0},
            "fallbacks": [
                {
                    "use": "anthropic/claude-3-5-haiku-latest",
                    "params": {"max_tokens": 64},
                    "messages": [{"user": "Claude, triage: {{ ticket }}"}],
                },
            ],
        },
        {"ticket": "charged twice"},
        target="anthropic/claude-3-5-haiku-latest",
        expect_paths=(ANTHROPIC,),
    ),
    Row(
        "--target another model keeps the prompt's params",
        {
            "use": "openai/gpt-4o-mini",
            "params": {"temperature": 0.3, "max_tokens": 40},
            "fallbacks": ["anthropic/claude-3-5-haiku-latest"],
        },
        {"ticket": "charged twice"},
        target="gemini/gemini-2.0-flash",
        expect_paths=(GEMINI,),
    ),
]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLM]:
    server = FakeLLM().start()
    server.reply(lambda _: '{"category": "billing"}')
    try:
        yield server
    finally:
        server.stop()


def _project(root: Path, fake: FakeLLM, row: Row) -> Path:
    common = "api_key_env: {env}, max_retries: 0, timeout_s: 5"
    root.mkdir(parents=True)
    (root / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake.openai_base}', "
        + common.format(env="OPENAI_API_KEY")
        + "}\n"
        f"  anthropic: {{kind: anthropic, base_url: '{fake.anthropic_base}', "
        + common.format(env="ANTHROPIC_API_KEY")
        + "}\n"
        f"  gemini: {{kind: gemini, base_url: '{fake.gemini_base}', "
        + common.format(env="GEMINI_API_KEY")
        + "}\n",
        encoding="utf-8",
    )
    (root / "prompts" / "_partials").mkdir(parents=True)
    (root / "prompts" / "_partials" / "tone.j2").write_text("Be kind and brief.")
    doc: dict[str, Any] = {
        "id": "t/p",
        "version": "1.0.0",
        "description": row.name,
        "status": "approved",
        "model": row.model,
        "inputs": row.inputs,
        "messages": row.messages,
        "tests": [
            {"name": "case", "vars": row.vars, "assert": [{"type": "contains", "value": ""}]}
        ],
    }
    if row.output is not None:
        doc["output"] = row.output
    doc.update(row.extra)
    # libyaml's dumper: the 300-turn history rows took ~1 s of CPU with the pure-Python one
    text = yaml.dump(doc, Dumper=yaml.CSafeDumper, sort_keys=False)
    (root / "prompts" / "p.yaml").write_text(text)
    (root / "vars.json").write_text(json.dumps(row.vars))
    return root


Sent = list[tuple[str, str, bytes]]


def _sent(fake: FakeLLM, run: Callable[[], object], faults: tuple[tuple[str, int], ...]) -> Sent:
    for wire, status in faults:
        fake.error(status, wire=wire)
    before = len(fake.requests)
    run()
    return [(r.method, r.path, r.raw) for r in fake.requests[before:]]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_runtime_and_promptctl_test_send_the_same_requests(
    row: Row,
    fake: FakeLLM,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = _project(tmp_path / "proj", fake, row)
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(root)

    args = ["test", "t/p", "--mode", "live", "--no-cache", "--output", str(tmp_path / "r.json")]
    if row.target is not None:
        args += ["--target", row.target]
    code: list[int] = []

    def evaluate() -> None:
        code.append(run_cli(args, monkeypatch, capsys)[0])

    by_test = _sent(fake, evaluate, row.faults)
    assert code == [0], capsys.readouterr()

    project = load_project(root / "promptctl.yaml")
    selection = select_for_publish(project, ["t/p"])
    bundle = root / "t.bundle.json"
    doc = build_bundle(
        selection.prompts,
        providers=project.providers,
        eval_summaries={},
        git_commit=None,
        created_from="test",
    )
    bundle.write_bytes(serialize(doc))
    pins = {"t/p": row.target} if row.target is not None else None
    # a deployment that pins a model of a provider the bundle does not carry configures it
    extra = {p: project.providers[p] for p in ("gemini",)} if pins else None
    with Runtime.load(bundle, env=KEYS, ledger=False, targets=pins, providers=extra) as runtime:
        by_app = _sent(fake, lambda: runtime.run("t/p", **row.vars), row.faults)

    assert [path for _, path, _ in by_test] == list(row.expect_paths)
    assert by_app == by_test
    if row.extra.get("tools"):  # the row does its job: every wire got the tools
        bodies = [json.loads(raw) for _, _, raw in by_test]
        assert all(b.get("tools") for b in bodies)
        assert all("c1" in raw.decode() or "gemini" in path for _, path, raw in by_test)
    if "history" in row.vars:  # what was trimmed is recorded on both sides alike
        (case,) = json.loads((tmp_path / "r.json").read_text())["cases"]
        app_ledger = tmp_path / "app.sqlite"
        with Runtime.load(bundle, env=KEYS, ledger=app_ledger) as runtime:
            result = runtime.run("t/p", **row.vars)
        trimmed = result.context_trimmed
        # and in both ledgers, on the row of the call that answered (no trim: NULL)
        keys = ("reason", "messages_dropped", "tokens_dropped")
        for path, trims in (
            (root / ".promptctl" / "ledger.sqlite", case["context_trimmed"]),
            (app_ledger, [dataclasses.asdict(t) for t in trimmed]),
        ):
            db = sqlite3.connect(path)
            (stored,) = db.execute("SELECT context_trimmed FROM calls ORDER BY id DESC LIMIT 1")
            db.close()
            assert (json.loads(stored[0]) if stored[0] else []) == [
                {k: t[k] for k in keys} for t in trims
            ]
        assert case["context_trimmed"] == [
            {
                "target": t.target,
                "reason": t.reason,
                "messages_dropped": t.messages_dropped,
                "tokens_dropped": t.tokens_dropped,
            }
            for t in trimmed
        ]

    render = ["render", "t/p", "--vars", str(root / "vars.json"), "--format", "json"]
    if row.target is not None:
        render += ["--target", row.target]
    rc, out, err = run_cli(render, monkeypatch, capsys)
    assert rc == 0, err
    shown = json.loads(out)["request"]
    method, path, body = by_test[0]
    assert (shown["method"], shown["path"]) == (method, path)
    encoded = json.dumps(shown["body"], separators=(",", ":"), ensure_ascii=False).encode()
    assert encoded == body


def test_latency_is_the_whole_call_on_both_sides(
    fake: FakeLLM,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A primary that fails over is slow on both sides (the p95 latency gate sees it);
    the answering attempt's own latency is recorded beside it."""
    row = next(r for r in ROWS if r.name == "whole chain fails over to the last fallback")
    root = _project(tmp_path / "proj", fake, row)
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(root)
    monkeypatch.setattr(fake, "latency_s", 0.05)
    out = tmp_path / "r.json"
    for wire, status in row.faults:
        fake.error(status, wire=wire)
    args = ["test", "t/p", "--mode", "live", "--no-cache", "--output", str(out)]
    assert run_cli(args, monkeypatch, capsys)[0] == 0
    (case,) = json.loads(out.read_text())["cases"]
    assert case["latency_ms"] >= 150 > case["attempt_latency_ms"] >= 50
    assert [f["reason"] for f in case["fallbacks_tried"]] == ["overloaded", "overloaded"]

    project = load_project(root / "promptctl.yaml")
    doc = build_bundle(
        select_for_publish(project, ["t/p"]).prompts,
        providers=project.providers,
        eval_summaries={},
        git_commit=None,
        created_from="test",
    )
    (root / "t.bundle.json").write_bytes(serialize(doc))
    for wire, status in row.faults:
        fake.error(status, wire=wire)
    with Runtime.load(root / "t.bundle.json", env=KEYS, ledger=False) as runtime:
        result = runtime.run("t/p", **row.vars)
    assert result.latency_ms >= 150 > result.attempt_latency_ms >= 50
    assert [(s.target, s.reason) for s in result.fallbacks_tried] == [
        (f["target"], f["reason"]) for f in case["fallbacks_tried"]
    ]


def test_the_long_history_rows_really_trim(tmp_path: Path, fake: FakeLLM) -> None:
    """The two history rows above send less than they were given, by whole turns."""
    long_row, budget_row = (r for r in ROWS if "history" in r.vars and len(r.vars["history"]) > 3)
    for row, kept_turns in ((long_row, None), (budget_row, 2)):
        root = _project(tmp_path / row.name[:10].replace(" ", "_"), fake, row)
        project = load_project(root / "promptctl.yaml")
        doc = build_bundle(
            select_for_publish(project, ["t/p"]).prompts,
            providers=project.providers,
            eval_summaries={},
            git_commit=None,
            created_from="test",
        )
        (root / "t.bundle.json").write_bytes(serialize(doc))
        with Runtime.load(root / "t.bundle.json", env=KEYS, ledger=False) as runtime:
            before = len(fake.requests)
            result = runtime.run("t/p", **row.vars)
        sent = fake.requests[before:][0].body["messages"]
        history = [m for m in sent[1:-1]]
        given = row.vars["history"]
        assert history == given[len(given) - len(history) :]  # the newest, in order
        assert history[0]["role"] == "user" and len(history) % 2 == 0  # whole turns
        (trim,) = result.context_trimmed
        assert trim.messages_dropped == len(given) - len(history) > 0
        if kept_turns is None:
            assert trim.reason == "window" and 400 < len(history) < 600
        else:
            assert trim.reason == "budget" and len(history) == 2 * kept_turns
