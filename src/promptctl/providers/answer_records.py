"""Answers' ledger records, written on a worker thread in batches, before the answers are used.

The gateway records a paid answer before it hands it to its caller (the ledger's
durability bound, docs/costs.md), and off the event loop, so the loop never waits on a
disk. One thread hop per answer (`asyncio.to_thread`: a pool submit, a wake-up of the
loop, a commit each) was ~0.1 ms of CPU per evaluated case. Here answers arriving
while a write is on its way wait for the next one: one hop and one commit per batch
(group commit). Each caller still gets its answer only once its own row is committed.

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

__all__ = ["AnswerRecords"]


class _LoopQueue:
    """Records waiting on one event loop, and whether a batch of them is being written."""

    __slots__ = ("busy", "queued")

    def __init__(self) -> None:
        self.queued: list[tuple[CallRecord, asyncio.Future[None]]] = []
        self.busy = False


class AnswerRecords:
    """`await write(record)` returns once `on_call` has taken the record (on a thread)."""

    def __init__(self, on_call: Callable[[CallRecord], None]) -> None:
        self._one = on_call
        self._many = batch_writer(on_call)
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
            self._start(loop, queue)
        await asyncio.shield(done)

    def _track(self, write: asyncio.Future[None]) -> None:
        self.pending.add(write)
        write.add_done_callback(self.pending.discard)

    def _start(self, loop: asyncio.AbstractEventLoop, queue: _LoopQueue) -> None:
        batch, queue.queued = queue.queued, []
        queue.busy = True
        assert self._many is not None
        job = loop.run_in_executor(None, self._many, [record for record, _ in batch])
        job.add_done_callback(lambda j: self._finished(loop, queue, batch, j))

    def _finished(
        self,
        loop: asyncio.AbstractEventLoop,
        queue: _LoopQueue,
        batch: Sequence[tuple[CallRecord, asyncio.Future[None]]],
        job: asyncio.Future[None],
    ) -> None:
        error = None if job.cancelled() else job.exception()
        for _, done in batch:
            if done.done():
                continue
            if error is not None:
                done.set_exception(error)
            elif job.cancelled():
                done.cancel()
            else:
                done.set_result(None)
        queue.busy = False
        if queue.queued and not loop.is_closed():
            self._start(loop, queue)


def batch_writer(on_call: Callable[[CallRecord], None]) -> Callable[[list[CallRecord]], Any] | None:
    """The `record_many` of the ledger whose bound `record` is `on_call`, if it has one."""
    if getattr(on_call, "__name__", None) != "record":
        return None
    many = getattr(getattr(on_call, "__self__", None), "record_many", None)
    return many if callable(many) else None
