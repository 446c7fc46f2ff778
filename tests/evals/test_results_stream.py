"""ResultsStream: a valid partial document after every write, the final one as
`write_results` writes it, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promptctl.evals import results_stream
from promptctl.evals.results import SCHEMA_ID, write_results
from promptctl.evals.results_stream import ResultsStream

RUN = {"id": "20261205T000000Z-abcdef", "finished_at": None, "interrupted": False}


def _case(i: int) -> dict[str, Any]:
    return {"key": f"p::t::case {i}::0", "output": f"ünïcode \u2028 {i}", "score": i / 3}


@pytest.mark.parametrize("n", [0, 1, 7])
def test_partial_after_each_write_and_final_as_write_results(
    tmp_path: Path, n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(results_stream, "FLUSH_BYTES", 0)  # every case written at once
    path = tmp_path / "runs" / "r.json"
    stream = ResultsStream(path, SCHEMA_ID, RUN)
    for i in range(n):
        partial = json.loads(path.read_text())
        assert partial["run"] == {**RUN, "interrupted": True}
        assert partial["cases"] == [_case(j) for j in range(i)] and partial["summary"] == []
        stream.add(_case(i))
    final_run = {**RUN, "finished_at": "2026-12-05T00:00:01+00:00"}
    summary = [{"prompt": "p", "cases": n}]
    stream.finish(final_run, summary)
    expected = tmp_path / "expected.json"
    doc = {
        "schema": SCHEMA_ID,
        "run": final_run,
        "cases": [_case(i) for i in range(n)],
        "summary": summary,
    }
    write_results(expected, doc)
    assert path.read_bytes() == expected.read_bytes()
    assert stream.load() == doc
    assert sorted(p.name for p in path.parent.iterdir()) == ["r.json"]  # no temp file left


def test_without_a_path_the_document_is_kept_in_a_temporary_file(tmp_path: Path) -> None:
    stream = ResultsStream(None, SCHEMA_ID, RUN)
    stream.add(_case(0))
    stream.finish(RUN, [])
    assert stream.load()["cases"] == [_case(0)]
    stream.close()


def test_a_torn_end_reads_as_the_whole_cases_before_the_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader racing a flush (Linux lets a read see part of a write to a regular file)
    or a SIGKILL inside one sees the new bytes cut anywhere, over what the old end left:
    every such file reads as the cases that were whole before the cut."""
    monkeypatch.setattr(results_stream, "FLUSH_BYTES", 1 << 30)
    monkeypatch.setattr(results_stream, "FLUSH_SECONDS", 1e9)
    path = tmp_path / "r.json"
    stream = ResultsStream(path, SCHEMA_ID, RUN)
    for i in range(3):
        stream.add(_case(i))
    stream.flush()
    before = path.read_bytes()
    for i in range(3, 6):
        stream.add(_case(i))
    stream.flush()
    after = path.read_bytes()
    stream.close()
    cases = [_case(i) for i in range(6)]
    assert results_stream.recover_partial(after.decode()) == json.loads(after)
    start = before.index(b"\n ],")  # where the flush began to write
    torn_files = 0
    for cut in range(start, len(after) + 1):
        views = [after[:cut]]  # the file's end seen at the cut
        if cut < len(before):
            views.append(after[:cut] + before[cut:])  # the old end's rest still there
        for view in views:
            text = view.decode("utf-8", errors="replace")
            doc = results_stream.recover_partial(text)
            assert doc is not None, (cut, text[-80:])
            n = len(doc["cases"])
            assert 3 <= n <= 6 and doc["cases"] == cases[:n], cut
            assert doc["run"] == {**RUN, "interrupted": True} and doc["summary"] == []
            torn_files += 1
    assert torn_files == (len(after) + 1 - start) + (len(before) - start)  # every cut tried


def test_a_document_of_another_shape_is_not_recovered() -> None:
    whole = json.dumps({"schema": SCHEMA_ID, "run": {**RUN, "interrupted": True}, "cases": []})
    assert results_stream.recover_partial(whole[:-5]) is None  # not the stream's layout
    finished = '{"schema": "x",\n "run": {"interrupted": false},\n "cases": [\n  {"a": 1},\n  {"b'
    assert results_stream.recover_partial(finished) is None  # only a run still writing
    assert results_stream.recover_partial("") is None


def test_a_nan_that_got_past_the_readers_is_written_as_its_name(tmp_path: Path) -> None:
    """The last line: readers refuse NaN and infinities, but a case holding one is still
    written (as "NaN", "Infinity") instead of failing the run at its result."""
    import asyncio

    from evalcore_builders import make_prompt

    from fakes.results_factory import run_info
    from promptctl.evals.cases import expand_cases
    from promptctl.evals.result_log import ResultLog
    from promptctl.evals.results import CaseResult, read_results
    from promptctl.promptfile.model import TestCase
    from promptctl.providers.redact import Redactor

    odd = {"n": float("nan"), "big": [float("inf"), float("-inf")], "fine": 1.5}
    prompt = make_prompt(tests=(TestCase("odd", vars=odd),))
    case = expand_cases([prompt])[0]
    result = CaseResult.for_case(case, status="pass", score=1.0, output="ok")
    path = tmp_path / "run.json"
    stream = ResultsStream(path, SCHEMA_ID, run_info("r"))
    log = ResultLog(stream, Redactor(()), lookahead=4)

    async def write() -> None:
        await log.begin(0, case)
        await log.end(0, result)

    asyncio.run(write())
    stream.finish(run_info("r"), [])
    (row,) = json.loads(path.read_text(), parse_constant=pytest.fail)["cases"]
    assert row["vars"] == {"n": "NaN", "big": ["Infinity", "-Infinity"], "fine": 1.5}
    assert row["status"] == "pass"
    assert [c["key"] for c in read_results(path)["cases"]] == [result.key]
