"""Every assertion type end to end: `run_eval` against the fake server, pass and fail paths.

One table row per type gives a good and a bad situation (a scripted reply and the
assertion); each becomes four cases: the assertion on the good reply (pass) and on the bad
one (fail, with the reason the report shows), and its `not-` form on both (flipped).
The judge's verdicts for llm-rubric are scripted too, from the output it is shown.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from pathlib import Path
from typing import NamedTuple

from runner_helpers import a, prompt, question, tcase

from fakes.llm_server import FakeLLM, Logged
from promptctl.evals.assertions import ASSERTION_TYPES
from promptctl.evals.runner import EvalOptions, run_eval
from promptctl.promptfile.chat import ToolSpec
from promptctl.promptfile.model import AssertionSpec, Project

SCHEMA = {
    "type": "object",
    "required": ["category"],
    "properties": {"category": {"enum": ["billing", "tech"]}},
}
CHECK = """
def says_yes(output, context):
    ok = "yes" in output.lower()
    return {"pass": ok, "reason": "the answer agrees" if ok else "no yes in the answer"}
"""
LOOKUP = ToolSpec(
    "lookup_order",
    "Find an order.",
    {"type": "object", "properties": {"id": {"type": "string"}, "verbose": {"type": "boolean"}}},
)
POLITE = '{"pass": true, "score": 0.9, "reason": "the answer is polite"}'
RUDE = '{"pass": false, "score": 0.1, "reason": "the answer is rude"}'


class Row(NamedTuple):
    type: str
    good: tuple[str, AssertionSpec]  # (reply, assertion) under which the check passes
    bad: tuple[str, AssertionSpec]  # ... and under which it fails
    reason: str  # a regex the failing assertion's reason must match


def same(spec: AssertionSpec, good: str, bad: str) -> dict[str, tuple[str, AssertionSpec]]:
    return {"good": (good, spec), "bad": (bad, spec)}


ROWS = [
    Row("equals", **same(a("equals", "Paris"), "Paris", "Lyon"), reason=r"output is not 'Paris'"),
    Row(
        "contains",
        **same(a("contains", "refund"), "your refund is sent", "no money back"),
        reason=r"output does not contain 'refund'",
    ),
    Row(
        "icontains",
        **same(a("icontains", "REFUND"), "Refund sent", "nothing to see"),
        reason=r"output does not contain 'REFUND' \(ignoring case\)",
    ),
    Row(
        "contains-any",
        **same(a("contains-any", ["cat", "dog"]), "a dog barks", "a bird sings"),
        reason=r'output contains none of \["cat", "dog"\]',
    ),
    Row(
        "contains-all",
        **same(a("contains-all", ["cat", "dog"]), "cat and dog", "only a cat"),
        reason=r'output is missing \["dog"\]',
    ),
    Row(
        "starts-with",
        **same(a("starts-with", "Dear"), "Dear customer", "Hi customer"),
        reason=r"output does not start with 'Dear'",
    ),
    Row(
        "regex",
        **same(a("regex", r"\d{3}-\d{4}"), "call 555-1234", "call me"),
        reason=r"output does not match /\\d\{3\}-\\d\{4\}/",
    ),
    Row(
        "is-json",
        **same(a("is-json"), '{"a": 1}', "not json"),
        reason=r"output is not valid JSON: ",
    ),
    Row(
        "json-schema",
        **same(a("json-schema", SCHEMA), '{"category": "billing"}', '{"category": "food"}'),
        reason=r"output does not match the schema at \$\.category: 'food' is not one of",
    ),
    Row(
        "json-path",
        **same(
            a("json-path", path="$.category", equals="billing"),
            '{"category": "billing"}',
            '{"category": "tech"}',
        ),
        reason=r"expected 'billing' at \$\.category, got 'tech'",
    ),
    Row(
        "length",
        **same(a("length", max=10), "short", "this one is far too long"),
        reason=r"length 24 chars is outside \[, 10\]",
    ),
    Row(
        "levenshtein",
        **same(a("levenshtein", "hello world", max=2), "hello wrld", "goodbye"),
        reason=r"edit distance \d+ to 'hello world' \(max 2\)",
    ),
    # the fake server bills 10 input + 5 output tokens of gpt-4o-mini: $0.0000045
    Row(
        "cost",
        good=("ok", a("cost", max=0.01)),
        bad=("ok", a("cost", max=0.000001)),
        reason=r"cost \$0\.000005 > max \$1e-06",
    ),
    Row(
        "latency",
        good=("ok", a("latency", max=60_000)),
        bad=("ok", a("latency", max=0)),
        reason=r"latency \d+ ms > max 0 ms",
    ),
    # only a streamed case has a time to first token: the ttft cases' prompt streams
    Row(
        "ttft",
        good=("ok", a("ttft", max=60_000)),
        bad=("ok", a("ttft", max=0)),
        reason=r"time to first token \d+ ms > max 0 ms",
    ),
    Row(
        "python",
        **same(a("python", "evals/checks.py:says_yes"), "Yes, sure", "Nope"),
        reason=r"^no yes in the answer$",
    ),
    # a reply "CALL name {json}" is answered as that tool call (see `_script`)
    Row(
        "tool-call",
        **same(
            a("tool-call", name="lookup_order", arguments={"id": "A-1"}),
            'CALL lookup_order {"id": "A-1", "verbose": true}',
            'CALL lookup_order {"id": "A-2"}',
        ),
        reason=r"no a call of lookup_order matches \(lookup_order\(\{\"id\": \"A-2\"\}\) lacks",
    ),
    Row(
        "llm-rubric",
        **same(a("llm-rubric", "The answer is polite."), "Thank you, glad to help", "go away"),
        reason=r"^judge: the answer is rude$",
    ),
]


class Expect(NamedTuple):
    reply: str
    spec: AssertionSpec
    status: str
    reason: str  # regex for the failing assertion's reason; "" for a pass


def _cases() -> dict[str, Expect]:
    """Four cases per row, keyed by the case (and test) name."""
    out: dict[str, Expect] = {}
    for row in ROWS:
        (good_reply, good), (bad_reply, bad) = row.good, row.bad
        t = row.type
        out[f"{t}/pass"] = Expect(good_reply, good, "pass", "")
        out[f"{t}/fail"] = Expect(bad_reply, bad, "fail", row.reason)
        out[f"not-{t}/pass"] = Expect(bad_reply, dataclasses.replace(bad, negate=True), "pass", "")
        negated = re.escape(f"not-{t}: the check passed (")
        out[f"not-{t}/fail"] = Expect(
            good_reply, dataclasses.replace(good, negate=True), "fail", negated
        )
    return out


def _script(fake: FakeLLM, cases: dict[str, Expect]) -> None:
    """Answers by the case name sent as the question; the judge by the output it grades."""

    def reply(logged: Logged) -> str:
        content = logged.body["messages"][-1]["content"]
        if "<rubric>" in content:
            graded = content.split("<output>", 1)[1]
            return POLITE if "Thank you" in graded else RUDE
        return cases[question(logged.body)].reply

    def tool_calls(logged: Logged) -> list[tuple[str, dict[str, object] | str]] | None:
        content = logged.body["messages"][-1]["content"]
        if "<rubric>" in content or not cases[question(logged.body)].reply.startswith("CALL "):
            return None
        _, name, arguments = cases[question(logged.body)].reply.split(" ", 2)
        return [(name, json.loads(arguments))]

    fake.reply(reply)
    fake.reply_tool_calls(tool_calls)


def test_the_table_covers_every_assertion_type() -> None:
    assert {row.type for row in ROWS} == ASSERTION_TYPES


def test_every_assertion_type_passes_and_fails_through_the_runner(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "evals").mkdir(exist_ok=True)
    (tmp_path / "evals" / "checks.py").write_text(CHECK)
    cases = _cases()
    _script(fake_llm, cases)
    p = prompt(
        "demo/asserts",
        *[tcase(name, name, e.spec) for name, e in cases.items() if "ttft" not in name],
    )
    streamed = prompt(
        "demo/streamed",
        *[tcase(name, name, e.spec) for name, e in cases.items() if "ttft" in name],
        params={"max_tokens": 50, "stream": True},
    )
    p = dataclasses.replace(p, tools=(LOOKUP,))
    streamed = dataclasses.replace(streamed, tools=(LOOKUP,))
    options = EvalOptions(output=tmp_path / "run.json")
    run = asyncio.run(run_eval(fake_project, [p, streamed], options, env=fake_env))

    problems = []
    for result in run.results:
        want = cases[result.test]
        # the test's assertion, then the implicit check that tool arguments are valid
        got, implicit = result.assertions
        assert implicit.passed and implicit.type == "tool-call"
        if result.status != want.status:
            problems.append(f"{result.test}: {result.status} ({got.reason}), want {want.status}")
        elif want.status == "fail" and not re.search(want.reason, got.reason):
            problems.append(f"{result.test}: reason {got.reason!r} !~ /{want.reason}/")
        elif got.passed != (want.status == "pass"):
            problems.append(f"{result.test}: assertion pass={got.passed}")
    assert problems == []
    assert len(run.results) == len(cases) == 4 * len(ROWS)
    assert run.exit_code == 1  # some cases fail, none errored
    assert run.counts["error"] == 0
    # the run wrote what it reported: statuses and reasons reach the results document
    doc = json.loads((tmp_path / "run.json").read_text())
    rows = {c["test"]: c for c in doc["cases"]}
    assert rows["regex/fail"]["status"] == "fail"
    assert rows["ttft/pass"]["ttft_ms"] > 0 and "ttft_ms" not in rows["regex/fail"]
    streamed_bodies = [r.body for r in fake_llm.requests if r.body.get("stream")]
    assert len(streamed_bodies) == 4 and all("stream" in b for b in streamed_bodies)
    assert rows["llm-rubric/fail"]["assertions"][0]["reason"] == "judge: the answer is rude"
    # the judge was asked through the fake server, with the case's output
    graded = [r for r in fake_llm.requests if "<rubric>" in r.body["messages"][-1]["content"]]
    assert graded and all("<output>" in r.body["messages"][-1]["content"] for r in graded)
