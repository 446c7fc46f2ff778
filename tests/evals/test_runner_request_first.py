"""Request first: after a live answer, a worker sends its next case's request before it
scores and writes that answer; a cached answer is scored at once (nothing to overlap)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fakes.llm_server import FakeLLM, Logged
from promptctl.evals import case_run
from promptctl.evals.runner import EvalOptions, evaluate
from promptctl.promptfile.loader import load_prompts
from promptctl.promptfile.project import project_at
from promptctl.providers._http11 import Connection

PROMPT = """\
id: qa
version: 1.0.0
model: {use: openai/gpt-4o-mini, params: {max_tokens: 5}}
inputs: {q: {type: string}}
messages:
  - user: '{{ q }}'
tests:
"""


def _project(root: Path, fake: FakeLLM, tests: int) -> None:
    (root / "promptctl.yaml").write_text(
        f"providers:\n  openai: {{kind: openai, base_url: '{fake.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0}\n"
    )
    (root / "prompts").mkdir()
    body = "".join(
        f"  - name: t{i}\n    vars: {{q: 'q {i}'}}\n    assert: [{{contains: ok}}]\n"
        for i in range(tests)
    )
    (root / "prompts" / "qa.yaml").write_text(PROMPT + body)


def _events(
    root: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[list[str], Any]:
    """What the run did, in order: `sent q N` when a request is written to the socket,
    `scored tN` when an answer is scored (concurrency 1)."""
    events: list[str] = []
    send, score = Connection.send, case_run.score_case

    async def sending(
        self: Connection, head: bytes, method: str, body: Any, *a: Any, **kw: Any
    ) -> Any:
        events.append("sent " + json.loads(body)["messages"][-1]["content"])
        return await send(self, head, method, body, *a, **kw)

    async def scoring(case: Any, response: Any, **kwargs: Any) -> Any:
        events.append(f"scored {case.test.name}")
        return await score(case, response, **kwargs)

    monkeypatch.setattr(Connection, "send", sending)
    monkeypatch.setattr(case_run, "score_case", scoring)
    project = project_at(root)
    loaded = load_prompts(project, None, keep_docs=False)
    run = evaluate(project, loaded.prompts, EvalOptions(concurrency=1), env=env)
    return events, run


def test_the_next_request_leaves_before_a_live_answer_is_scored(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_llm.reply(lambda logged: f"ok {logged.body['messages'][-1]['content']}")
    _project(tmp_path, fake_llm, 4)
    events, run = _events(tmp_path, fake_env, monkeypatch)
    # one worker: t1's request is on the wire before t0's answer is scored
    assert events == [
        "sent q 0",
        "sent q 1",
        "scored t0",
        "sent q 2",
        "scored t1",
        "sent q 3",
        "scored t2",
        "scored t3",
    ]
    assert [c["test"] for c in run.document["cases"]] == ["t0", "t1", "t2", "t3"]
    assert run.counts["pass"] == 4


def test_cached_answers_are_scored_before_the_next_case_starts(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_llm.reply("ok")
    _project(tmp_path, fake_llm, 2)
    project = project_at(tmp_path)
    loaded = load_prompts(project, None, keep_docs=False)
    evaluate(project, loaded.prompts, EvalOptions(concurrency=1), env=fake_env)
    with (tmp_path / "prompts" / "qa.yaml").open("a") as fh:
        fh.write("  - name: t2\n    vars: {q: 'q 2'}\n    assert: [{contains: ok}]\n")
    events, run = _events(tmp_path, fake_env, monkeypatch)
    # t0 and t1 come from the cache, each scored before the next case; t2 is live
    assert events == ["scored t0", "scored t1", "sent q 2", "scored t2"]
    assert run.counts["pass"] == 3 and run.cached == 2


def test_a_failing_call_sent_ahead_does_not_change_the_rows(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """t1's request, sent while t0's answer is scored, fails (a 500, no retries): both
    rows are right and in order."""

    def reply(logged: Logged) -> str:
        if logged.body["messages"][-1]["content"] == "q 0":
            fake_llm.error(500)  # the next request, q 1's
        return "ok"

    fake_llm.reply(reply)
    _project(tmp_path, fake_llm, 3)
    events, run = _events(tmp_path, fake_env, monkeypatch)
    assert events.index("sent q 1") < events.index("scored t0")
    statuses = [(c["test"], c["status"]) for c in run.document["cases"]]
    assert statuses == [("t0", "pass"), ("t1", "error"), ("t2", "pass")]


def test_a_judged_answer_keeps_one_request_in_flight_per_worker(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An `llm-rubric` answer is graded by a model call: the next case's request waits
    for it, so `--concurrency 1` still means one request at a time."""

    def reply(logged: Logged) -> str:
        content = logged.body["messages"][-1]["content"]
        if "<rubric>" in content:
            return '{"pass": true, "score": 0.9, "reason": "fine"}'
        return f"ok {content}"  # a different output each: each is graded

    fake_llm.reply(reply)
    _project(tmp_path, fake_llm, 3)
    qa = tmp_path / "prompts" / "qa.yaml"
    qa.write_text(qa.read_text().replace("[{contains: ok}]", "[{llm-rubric: is it fine?}]"))
    events, run = _events(tmp_path, fake_env, monkeypatch)
    shown = ["judge" if e.startswith("sent <rubric>") else e for e in events]
    assert shown == [
        "sent q 0",
        "scored t0",
        "judge",  # t0's grading is the worker's one request in flight…
        "sent q 1",  # …and t1's request leaves only after it
        "scored t1",
        "judge",
        "sent q 2",
        "scored t2",
        "judge",
    ]
    assert run.counts["pass"] == 3
