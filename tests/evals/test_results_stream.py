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
