"""`Gateway(call_cap=)` / `limits.CappedLimiter`: a cap on calls in flight across
providers, a freed slot handed to the waiting call first, and nothing paid lost in the
hand-over."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from provider_helpers import chat

from fakes.llm_server import FakeLLM
from promptctl.promptfile.model import Project
from promptctl.providers._direct import DirectClient
from promptctl.providers.gateway import Gateway
from promptctl.providers.limits import CallCap, CappedLimiter, ProviderLimiter


def test_a_freed_slot_is_taken_by_the_waiting_call_before_the_freeing_one_goes_on() -> None:
    """What the pipeline rests on: when a call's slot is freed and another call waits for
    it, the waiting call runs first (it sends), then the one that freed it (records and
    scores its answer)."""
    order: list[str] = []

    async def main() -> None:
        async def sleep(_: float) -> None:
            return None

        provider = ProviderLimiter(max_concurrency=10, rpm=None, clock=time.monotonic, sleep=sleep)
        limiter = CappedLimiter(provider, CallCap(1))
        answered = asyncio.Event()

        async def first() -> None:
            async with limiter.slot():
                await answered.wait()  # the answer is being read
            order.append("first: recorded and scored")

        async def second() -> None:
            async with limiter.slot():
                order.append("second: sent")

        tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
        await asyncio.sleep(0.01)  # both started: the first holds the slot, the second waits
        assert order == []
        answered.set()
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert order == ["second: sent", "first: recorded and scored"]


def _one_slot(project: Project) -> tuple[Gateway, list[tuple[str, str | None]]]:
    """A live gateway of one call slot, and the (outcome, error kind) of each record."""
    recorded: list[tuple[str, str | None]] = []
    gateway = Gateway(
        project,
        env={"OPENAI_API_KEY": "sk-x"},
        mode="live",
        on_call=lambda rec: recorded.append((rec.outcome, rec.error_kind)),
        call_cap=1,
    )
    return gateway, recorded


def test_a_call_cancelled_while_handing_its_slot_over_is_recorded_not_lost(
    fake_project: Project, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first call's answer is in; its freed slot goes to the second call, and the
    first is cancelled during that hand-over (Ctrl-C at that moment): its paid call is
    still in the ledger, as a call cancelled in flight (cost unknown)."""
    gateway, recorded = _one_slot(fake_project)
    first: list[asyncio.Task[Any]] = []
    real = DirectClient.post_bytes

    async def post_bytes(self: DirectClient, url: str, **kwargs: Any) -> Any:
        if len(first) == 2:  # the second call got the slot: the first is handing it over
            first[0].cancel()
        first.append(asyncio.current_task())  # type: ignore[arg-type]
        return await real(self, url, **kwargs)

    monkeypatch.setattr(DirectClient, "post_bytes", post_bytes)

    async def main() -> Any:
        one = asyncio.ensure_future(gateway.complete(chat("openai/gpt-4o-mini", ("user", "a"))))
        first.append(one)
        await asyncio.sleep(0)  # the first call takes the slot
        two = asyncio.ensure_future(gateway.complete(chat("openai/gpt-4o-mini", ("user", "b"))))
        with pytest.raises(asyncio.CancelledError):
            await one
        answer = await two
        await gateway.aclose()
        return answer

    answer = asyncio.run(main())
    assert answer.text
    assert fake_llm.calls["openai"] == 2
    assert sorted(recorded, key=str) == [("error", "cancelled"), ("ok", None)]


def test_a_stream_cancelled_while_handing_its_slot_over_is_recorded_not_lost(
    fake_project: Project, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for a stream: it ended, its slot goes to the next stream, and it is
    cancelled during the hand-over: recorded as cancelled, with what it received."""
    gateway, recorded = _one_slot(fake_project)
    tasks: list[asyncio.Task[Any]] = []
    real = DirectClient.send

    async def send(self: DirectClient, *args: Any, **kwargs: Any) -> Any:
        if len(tasks) == 2:  # the second stream got the slot: the first is handing it over
            tasks[0].cancel()
        tasks.append(asyncio.current_task())  # type: ignore[arg-type]
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(DirectClient, "send", send)

    async def read(text: str) -> list[Any]:
        request = chat("openai/gpt-4o-mini", ("user", text))
        return [item async for item in gateway.stream(request)]

    async def main() -> list[Any]:
        one = asyncio.ensure_future(read("a"))
        tasks.append(one)
        await asyncio.sleep(0)
        two = asyncio.ensure_future(read("b"))
        with pytest.raises(asyncio.CancelledError):
            await one
        items = await two
        await gateway.aclose()
        return items

    assert asyncio.run(main())
    assert fake_llm.calls["openai"] == 2
    assert sorted(recorded, key=str) == [("error", "cancelled"), ("ok", None)]


def test_the_cap_hands_slots_over_in_arrival_order_and_survives_cancelled_waiters() -> None:
    order: list[str] = []

    async def main() -> None:
        cap = CallCap(1)
        await cap.acquire()  # the slot is taken
        assert not cap.waiting

        async def call(name: str) -> None:
            await cap.acquire()
            order.append(name)
            cap.release()

        b, c, d = (asyncio.create_task(call(n)) for n in "bcd")
        await asyncio.sleep(0)
        assert cap.waiting
        c.cancel()  # a waiter cancelled while waiting leaves the line
        await asyncio.sleep(0)
        cap.release()  # the slot goes to b, then from b to d
        await asyncio.gather(b, d)
        with pytest.raises(asyncio.CancelledError):
            await c
        assert not cap.waiting
        await cap.acquire()  # the slot came back: free again
        cap.release()

        # handed the slot, then cancelled before it ran: the slot passes on, not lost
        await cap.acquire()
        e, f = (asyncio.create_task(call(n)) for n in "ef")
        await asyncio.sleep(0)
        cap.release()  # e is handed the slot ...
        e.cancel()  # ... and cancelled before it runs
        await asyncio.wait_for(f, 1.0)
        with pytest.raises(asyncio.CancelledError):
            await e

        # cancelled while waiting, and the slot freed before its task saw the cancellation
        await cap.acquire()
        g, h = (asyncio.create_task(call(n)) for n in "gh")
        await asyncio.sleep(0)
        g.cancel()
        cap.release()  # drops g's cancelled wait, hands the slot to h
        await asyncio.wait_for(h, 1.0)
        with pytest.raises(asyncio.CancelledError):
            await g
        assert not cap.waiting
        await asyncio.wait_for(cap.acquire(), 1.0)  # one slot, free again

    asyncio.run(main())
    assert order == ["b", "d", "f", "h"]
