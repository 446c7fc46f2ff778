"""Answers' ledger records, committed in batches before the answers are used.

The gateway records a paid answer before it hands it to its caller (the ledger's
durability bound, docs/costs.md). One thread hop per answer (`asyncio.to_thread`: a
pool submit, a wake-up of the loop, a commit each) was ~0.1 ms of CPU per evaluated
case. Here the answers of one loop turn are written together, at the end of that turn,
and each caller gets its answer only once its own row is committed (group commit).

A ledger that can commit without waiting (`try_record_many`: SQLite, when no other
thread or process holds the write lock) commits them right on the loop: one WAL append
(no fsync; checkpoints stay on the ledger's thread) is cheaper than the hop to a thread
and back. When that would wait, the batch goes to a worker thread (`record_many`, the
disk's wait off the loop), and answers arriving meanwhile wait for the next batch.

An evaluation waits longer (`window_s`, the runner's `COMMIT_WINDOW_S`): the answers
of the next few milliseconds join the batch, up to `MAX_BATCH`. Its calls' slots were
freed when the answers were read (`limits.CappedLimiter`: a waiting case has sent), so
the wait costs no call time, and the cases of one commit then are scored and written
one after the other, with SQLite's and the scorer's code still in the CPU's caches: at
concurrency 50, ~7 answers a commit instead of ~1.7, and 0.1 ms less CPU a case.
A SIGKILL then loses the rows of the answers read in that window, which no result
holds either (docs/costs.md).

Batching needs a writer of many records at once: a ledger's bound `record` method
whose ledger has `record_many`. Any other `on_call` (tracing hooks, test callbacks that
read the caller's context) keeps one `to_thread` per record.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from promptctl.providers.types import CallRecord

__all__ = ["MAX_BATCH", "AnswerRecords"]

MAX_BATCH = 64  # records a windowed batch takes before it is written at once


class _LoopQueue:
    """Records waiting on one event loop: a flush is scheduled, or a batch is on a thread."""

    __slots__ = ("busy", "queued", "scheduled", "timer")

    def __init__(self) -> None:
        self.queued: list[tuple[CallRecord, asyncio.Future[None]]] = []
        self.scheduled = False
        self.busy = False
        self.timer: asyncio.TimerHandle | None = None  # a windowed flush, pending


class AnswerRecords:
    """`await write(record)` returns once `on_call` has taken the record.

    `window_s`: how long a batch waits for more answers (0: the end of the loop turn)."""

    def __init__(self, on_call: Callable[[CallRecord], None], *, window_s: float = 0.0) -> None:
        self._one = on_call
        self.window_s = window_s
        self._many, self._try_many = batch_writer(on_call)
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopQueue] = (
            weakref.WeakKeyDictionary()
        )
        self.pending: set[asyncio.Future[None]] = set()  # writes not yet done, all loops

    async def write(self, record: CallRecord) -> None:
        """Shielded: cancelling the caller would drop a paid answer's row; the write goes
        on (`pending` lets the gateway's `aclose` wait for it)."""
        if self._many is None:
            one = asyncio.to_thread(self._one, record)
            write: asyncio.Future[None] = asyncio.ensure_future(one)
            self._track(write)
            await asyncio.shield(write)
            return
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _LoopQueue()
        done = loop.create_future()
        self._track(done)
        queue.queued.append((record, done))
        if not queue.busy:
            self._schedule(loop, queue)
        await asyncio.shield(done)

    def _schedule(self, loop: asyncio.AbstractEventLoop, queue: _LoopQueue) -> None:
        """A flush at the end of this loop turn (the answers it brought), or once the
        window has passed, or at once when the batch is full."""
        if queue.scheduled and (queue.timer is None or len(queue.queued) < MAX_BATCH):
            return
        if queue.timer is not None:
            queue.timer.cancel()
            queue.timer = None
        queue.scheduled = True
        if self.window_s > 0 and len(queue.queued) < MAX_BATCH:
            queue.timer = loop.call_later(self.window_s, self._flush, loop, queue)
        else:
            loop.call_soon(self._flush, loop, queue)

    def _track(self, write: asyncio.Future[None]) -> None:
        self.pending.add(write)
        write.add_done_callback(self.pending.discard)

    def _flush(self, loop: asyncio.AbstractEventLoop, queue: _LoopQueue) -> None:
        """Commit the queued records here if that needs no waiting, else on a thread."""
        queue.scheduled, queue.timer = False, None
        if queue.busy or not queue.queued:
            return  # the batch on its way takes these next
        batch, queue.queued = queue.queued, []
        records = [record for record, _ in batch]
        try:
            committed = self._try_many is not None and self._try_many(records)
        except Exception:  # the thread's `record_many` raises it to the callers
            committed = False
        if committed:
            _settle(batch, None)
            return
        queue.busy = True
        assert self._many is not None
        job = loop.run_in_executor(None, self._many, records)
        job.add_done_callback(lambda j: self._finished(loop, queue, batch, j))

    def _finished(
        self,
        loop: asyncio.AbstractEventLoop,
        queue: _LoopQueue,
        batch: Sequence[tuple[CallRecord, asyncio.Future[None]]],
        job: asyncio.Future[None],
    ) -> None:
        _settle(batch, job)
        queue.busy = False
        if queue.queued and not loop.is_closed():
            self._flush(loop, queue)


def _settle(
    batch: Sequence[tuple[CallRecord, asyncio.Future[None]]], job: asyncio.Future[None] | None
) -> None:
    """Each caller of the batch learns how its write went (`job` None: committed)."""
    error = None if job is None or job.cancelled() else job.exception()
    for _, done in batch:
        if done.done():
            continue
        if error is not None:
            done.set_exception(error)
        elif job is not None and job.cancelled():
            done.cancel()
        else:
            done.set_result(None)


def batch_writer(
    on_call: Callable[[CallRecord], None],
) -> tuple[Callable[[list[CallRecord]], Any] | None, Callable[[list[CallRecord]], bool] | None]:
    """The `record_many` (and `try_record_many`, if any) of the ledger whose bound
    `record` is `on_call`; (None, None) for any other callable."""
    if getattr(on_call, "__name__", None) != "record":
        return None, None
    owner = getattr(on_call, "__self__", None)
    many = getattr(owner, "record_many", None)
    if not callable(many):
        return None, None
    try_many = getattr(owner, "try_record_many", None)
    return many, try_many if callable(try_many) else None
