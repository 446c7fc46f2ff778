"""A run streams: cases made as they are taken, results written as they finish, in order.

Memory is measured with tracemalloc (Python allocations) for N and 3 N dataset rows,
loading included; the results file is read while a real `promptctl test` process writes
it, and after that process is killed.
"""

from __future__ import annotations

import functools
import gc
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any, cast

import pytest

from fakes.llm_server import FakeLLM, Logged
from promptctl.evals import runner
from promptctl.evals.prepare import RequestBuilder
from promptctl.evals.results import read_results, results_json_schema, summary_rows
from promptctl.evals.results_stream import recover_partial
from promptctl.evals.runner import EvalOptions, evaluate
from promptctl.promptfile.loader import load_prompts
from promptctl.promptfile.project import project_at
from promptctl.report.summary import render_markdown, render_plain

PROMPT = """\
id: data/qa
version: 1.0.0
model: {use: openai/gpt-4o-mini, params: {max_tokens: 5}}
inputs:
  question: {type: string}
messages:
  - user: '{{ question }}'
tests:
  - dataset: ../evals/rows.jsonl
    assert:
      - {type: contains, value: ok}
"""


def _project(root: Path, fake: FakeLLM, rows: int, *, retries: int = 2) -> None:
    (root / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake.openai_base}',"
        f" api_key_env: OPENAI_API_KEY, max_retries: {retries}, timeout_s: 10}}\n"
    )
    (root / "evals").mkdir()
    with (root / "evals" / "rows.jsonl").open("w") as fh:
        for i in range(rows):
            fh.write(json.dumps({"name": f"row {i}", "vars": {"question": f"q {i}"}}) + "\n")
    (root / "prompts").mkdir()
    (root / "prompts" / "qa.yaml").write_text(PROMPT)


def _answer(logged: Logged) -> str:
    q = str(logged.body["messages"][-1]["content"])
    return f"ok {q}" if not q.endswith("3") else f"no {q}"  # every tenth row fails


def _peak_bytes(root: Path, env: dict[str, str]) -> tuple[int, int]:
    """Peak traced bytes of loading the project and running it, and the cases run."""
    gc.collect()
    tracemalloc.start()
    try:
        project = project_at(root)
        loaded = load_prompts(project, None, keep_docs=False)
        assert not loaded.errors
        prompts, partials = loaded.prompts, loaded.partials
        del loaded
        run = evaluate(project, prompts, EvalOptions(concurrency=8), partials=partials, env=env)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, run.cases


def _serve_answers(conn: Any) -> None:
    """A fake server in a child process: its allocations and CPU stay out of the traced
    process (tracemalloc costs ~3x on every allocation, the server's included)."""
    fake = FakeLLM().start()
    fake.reply(lambda logged: (fake.requests.clear(), _answer(logged))[1])
    conn.send(fake.openai_base)
    conn.recv()  # until the test is done
    fake.stop()


class _Remote:
    def __init__(self, openai_base: str) -> None:
        self.openai_base = openai_base


def test_memory_does_not_grow_with_the_number_of_dataset_cases(
    tmp_path: Path, fake_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before streaming, each case held ~2 KB of Python objects (its test, case, result and
    # document row): 200 more cases were ~400 KB more. Now what grows is the dataset's
    # text (~50 bytes a row here) and one latency per case; the rest is bounded: the
    # lookahead and the request memo, shrunk here (256 and 512 by default) so that both
    # are full at the smaller run and their filling is not counted as growth. Measured:
    # ~50 bytes a case grown; ~2.5 KB a case with an unbounded request memo.
    monkeypatch.setattr(runner, "LOOKAHEAD_MIN", 32)
    monkeypatch.setattr(
        RequestBuilder, "__init__", functools.partialmethod(RequestBuilder.__init__, memo_size=64)
    )
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    server = context.Process(target=_serve_answers, args=(theirs,), daemon=True)
    server.start()
    try:
        fake = cast(FakeLLM, _Remote(ours.recv()))
        runs = {}
        for n in (20, 100, 300):  # the first warms up: imports, caches filled once
            runs[n] = tmp_path / str(n)
            runs[n].mkdir()
            _project(runs[n], fake, n)
        _peak_bytes(runs[20], fake_env)
        peak_small, n_small = _peak_bytes(runs[100], fake_env)
        peak_large, n_large = _peak_bytes(runs[300], fake_env)
    finally:
        ours.send("done")
        server.join(10)
    assert (n_small, n_large) == (100, 300)
    grown = peak_large - peak_small
    print(f"peak {peak_small:,} -> {peak_large:,} bytes")
    # half of what a held case costs, 20x the growth measured
    assert grown < 200 * 1000, f"peak grew by {grown:,} bytes for 200 more cases"
    large = runs[300]
    doc = json.loads(next((large / ".promptctl" / "runs").glob("*.json")).read_text())
    assert [c["test"] for c in doc["cases"]] == [f"row {i}" for i in range(300)]
    assert doc["summary"][0]["passed"] == 270 and doc["summary"][0]["failed"] == 30


def test_results_are_written_in_case_order_and_workers_stay_within_the_lookahead(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "LOOKAHEAD_MIN", 10)  # above the 8 workers of concurrency 4
    monkeypatch.setattr(runner, "LOOKAHEAD_PER_WORKER", 1)
    release = threading.Event()
    seen_while_slow: list[int] = []
    lock = threading.Lock()
    count = 0

    def reply(logged: Logged) -> str:
        nonlocal count
        q = str(logged.body["messages"][-1]["content"])
        with lock:
            count += 1
        if q == "q 0":  # the first case answers last: after the others stop coming
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not release.is_set():
                time.sleep(0.05)
                with lock:
                    seen_while_slow.append(count)
        return f"ok {q}"

    fake_llm.reply(reply)
    _project(tmp_path, fake_llm, 30)

    def stalled() -> None:  # the others have stopped arriving: let the first one answer
        while True:
            time.sleep(0.3)
            with lock:
                if len(seen_while_slow) > 8 and seen_while_slow[-1] == seen_while_slow[-8]:
                    release.set()
                    return

    watcher = threading.Thread(target=stalled, daemon=True)
    watcher.start()
    project = project_at(tmp_path)
    loaded = load_prompts(project, None, keep_docs=False)
    run = evaluate(project, loaded.prompts, EvalOptions(concurrency=4), env=fake_env)
    watcher.join(5)
    assert release.is_set()
    # case 0 and the 9 after it (lookahead 10) started; case 10 waited for case 0
    assert max(seen_while_slow) == 10
    assert [c["test"] for c in run.document["cases"]] == [f"row {i}" for i in range(30)]
    assert run.counts["pass"] == 30


def test_the_summary_from_streamed_facts_is_the_one_from_the_whole_document(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    fake_llm.reply(_answer)
    _project(tmp_path, fake_llm, 60, retries=0)
    fake_llm.error(500)  # one case errors
    project = project_at(tmp_path)
    loaded = load_prompts(project, None, keep_docs=False)
    run = evaluate(project, loaded.prompts, EvalOptions(concurrency=4), env=fake_env)
    assert run.counts == {"pass": 53, "fail": 6, "error": 1, "skipped": 0}
    text = render_plain(run.head, facts=run.facts, max_problems=5)
    assert text == render_plain(run.document, max_problems=5)
    assert "… and 2 more" in text and "FAIL data/qa" in text and "ERROR" not in text
    text = render_plain(run.head, facts=run.facts, max_problems=7)
    assert text == render_plain(run.document, max_problems=7)
    assert "ERROR data/qa" in text and "more" not in text
    assert render_markdown(run.head, facts=run.facts) == render_markdown(run.document)
    assert (run.cases, run.cached, run.error_kinds) == (60, 0, frozenset({"server"}))


def _killed_run(root: Path) -> tuple[Path, list[dict[str, object]]]:
    """Start `promptctl test`, read its run file until 40 cases are in, kill it.

    While every worker waits for the server, the cases already answered still reach the
    file (flushed each second)."""
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-0123456789abcdef"}
    code = "from promptctl.cli.main import main; main()"
    cmd = [sys.executable, "-c", code, "test", "--quiet", "--concurrency", "4"]
    proc = subprocess.Popen(
        cmd, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    runs = root / ".promptctl" / "runs"
    snapshots: list[dict[str, object]] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            files = list(runs.glob("*.json")) if runs.is_dir() else []
            if files:
                # readable at every moment: never empty (created whole), and a read that
                # raced a flush ends torn, read up to its last whole case
                doc = recover_partial(files[0].read_text())
                assert doc is not None, "the run file could not be read while it ran"
                snapshots.append(doc)
                if len(doc["cases"]) >= 40:
                    break
            time.sleep(0.02)
    finally:
        proc.kill()
        proc.wait()
    assert files, "the run file never appeared"
    return files[0], snapshots


def test_a_killed_run_leaves_a_valid_partial_results_file(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    answered = 0
    lock = threading.Lock()
    stop = threading.Event()

    def reply(logged: Logged) -> str:  # 60 answers, then the server hangs: killed mid-run
        nonlocal answered
        with lock:
            answered += 1
            hang = answered > 60
        if hang:
            stop.wait(30)
        return _answer(logged)

    fake_llm.reply(reply)
    _project(tmp_path, fake_llm, 400)
    try:
        path, snapshots = _killed_run(tmp_path)
    finally:
        stop.set()
    for snap in snapshots:  # every read while it ran: the partial document's shape
        assert snap["run"]["interrupted"] is True and snap["run"]["finished_at"] is None
        assert snap["summary"] == []
    doc = read_results(path)  # the schema holds (checked on every read); the summary is computed
    cases = doc["cases"]
    assert 40 <= len(cases) <= 60
    assert doc["run"]["interrupted"] is True and doc["run"]["finished_at"] is None
    assert [c["test"] for c in cases] == [f"row {i}" for i in range(len(cases))]
    assert {c["status"] for c in cases} <= {"pass", "fail"}
    assert doc["summary"] == summary_rows(cases)
    assert doc["summary"][0]["cases"] == len(cases)
    raw = recover_partial(path.read_text())  # a kill inside a write leaves a torn end
    assert raw is not None and raw["summary"] == []
    import jsonschema

    jsonschema.validate(raw, results_json_schema())


def test_a_finished_run_replaces_the_partial_file_with_the_whole_document(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    fake_llm.reply(_answer)
    _project(tmp_path, fake_llm, 20)
    project = project_at(tmp_path)
    loaded = load_prompts(project, None, keep_docs=False)
    out = tmp_path / "out" / "results.json"
    run = evaluate(project, loaded.prompts, EvalOptions(output=out), env=fake_env)
    assert run.run_file is not None
    assert out.read_bytes() == run.run_file.read_bytes()
    doc = json.loads(out.read_text())
    assert doc["run"]["interrupted"] is False and doc["run"]["finished_at"] is not None
    assert doc["summary"][0]["cases"] == 20 and doc["summary"][0]["failed"] == 2
    assert doc == run.document
    leftovers = [p.name for p in out.parent.iterdir()] + [
        p.name for p in run.run_file.parent.iterdir()
    ]
    assert sorted(leftovers) == sorted(["results.json", run.run_file.name])
