"""A run's results in case order, written to the results file as they come, not held.

Cases finish in any order; the document lists them in case order. `ResultLog` writes a
result as soon as every case before it has been written, and keeps the others until
then. A worker may not start a case more than `lookahead` places after the first one not
written yet (`begin` waits), so at most that many results wait behind a slow case. What
the run's outcome needs is tallied on the way: the summary rows (`SummaryBuilder`), the
terminal report's lines (`CaseFacts`), the counts, the error kinds.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable

from promptctl.evals.aggregate import SummaryBuilder
from promptctl.evals.case_facts import CaseFacts
from promptctl.evals.cases import Case
from promptctl.evals.results import CaseResult
from promptctl.evals.results_stream import CASE_JSON, ResultsStream, finite
from promptctl.evals.scoring import skipped_result
from promptctl.providers.redact import Redactor

__all__ = ["ResultLog"]


class ResultLog:
    """Results of one run, by case index (0, 1, 2, … in case order)."""

    def __init__(self, stream: ResultsStream, redactor: Redactor, *, lookahead: int) -> None:
        self.stream = stream
        self._redactor = redactor  # a key in an input, output or check message
        self.lookahead = lookahead
        self._taken: dict[int, Case] = {}  # started, not written yet
        self._done: dict[int, CaseResult] = {}  # finished, waiting for a case before them
        self._next = 0  # the first case not written yet
        self._advanced = asyncio.Condition()
        self._waiting = 0  # workers in `begin`, waiting for the first unwritten to move
        self.summary = SummaryBuilder()
        self.facts = CaseFacts()
        self.counts: Counter[str] = Counter()
        self.first_of_status: dict[str, CaseResult] = {}
        self.cached = 0
        self.error_kinds: set[str] = set()

    async def begin(self, index: int, case: Case) -> None:
        """Case `index` starts: once it is within `lookahead` of the first unwritten."""
        self._taken[index] = case
        if index - self._next >= self.lookahead:
            self._waiting += 1
            try:
                async with self._advanced:
                    await self._advanced.wait_for(lambda: index - self._next < self.lookahead)
            finally:
                self._waiting -= 1

    async def end(self, index: int, result: CaseResult) -> None:
        """Case `index` finished: write it, and those after it it was holding back."""
        self._done[index] = result
        if index != self._next:
            return
        while self._next in self._done:
            del self._taken[self._next]
            self._write(self._done.pop(self._next))
            self._next += 1
        if self._waiting:
            async with self._advanced:
                self._advanced.notify_all()

    def close(self, rest: Iterable[tuple[int, Case]]) -> None:
        """After an interruption: the finished results in order, and every case started
        but unfinished, or never started (`rest`), as `skipped`."""
        for index in sorted(self._taken):
            result = self._done.pop(index, None)
            self._write(result if result is not None else skipped_result(self._taken[index]))
        self._taken.clear()
        for _, case in rest:
            self._write(skipped_result(case))

    def _write(self, result: CaseResult) -> None:
        self.summary.add(result)
        self.counts[result.status] += 1
        self.first_of_status.setdefault(result.status, result)
        self.cached += result.cached
        if result.error is not None:
            self.error_kinds.add(result.error.kind)
        # one C encode per case: the check for secrets reads the JSON written
        try:
            row, text = self._redactor.data_json(result.to_dict(), CASE_JSON.encode)
        except (ValueError, TypeError):  # a NaN, an infinity or a date got past every
            # reader (a test's vars are written as the file gave them): written as text
            row, text = self._redactor.data_json(finite(result.to_dict()), CASE_JSON.encode)
        self.facts.add(row)
        self.stream.add_json(text)
