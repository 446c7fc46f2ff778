"""An answer larger than MAX_ANSWER_BYTES is refused before it is read to its end, on
every path a whole answer takes: the pooled async client, the blocking one, an answer
to decode (a gzip bomb stops at the cap of its decoded size) and a client holding
cookies (which goes through httpx2). The cap is lowered to 1 MiB here; the real one is
256 MiB (a 2 GB answer took 5.5 GB of memory and 16 s before, 0.3 GB and 0.5 s now)."""

from __future__ import annotations

import asyncio
import gzip
import threading
from collections.abc import Callable

import pytest
from provider_helpers import chat

from fakes.llm_server import FakeLLM
from promptctl.errors import ProviderError
from promptctl.promptfile.model import Project
from promptctl.providers import _http11
from promptctl.providers.gateway import Gateway

CAP = 1 << 20
BIG = b'{"pad": "' + b" " * (2 * CAP) + b'"}'
SMALL_OK = 200_000  # under the cap: still answered


def _answer(fake_llm: FakeLLM, how: str) -> None:
    if how == "plain":
        fake_llm.raw(BIG, wire="openai")
    elif how == "gzip bomb":
        fake_llm.raw(gzip.compress(BIG), wire="openai", headers={"content-encoding": "gzip"})
    elif how == "after a cookie":  # the client then holds a cookie: httpx2's own path
        fake_llm.raw(BIG, wire="openai", headers={"set-cookie": "session=abc; Path=/"})


OK_WITH_COOKIE = {
    "id": "x",
    "object": "chat.completion",
    "model": "gpt-4o-mini",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1},
}


@pytest.mark.parametrize("blocking", [False, True], ids=["async", "blocking"])
@pytest.mark.parametrize("how", ["plain", "gzip bomb", "after a cookie"])
def test_an_answer_over_the_cap_is_a_bad_response(
    how: str,
    blocking: bool,
    fake_llm: FakeLLM,
    fake_project: Project,
    fake_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_http11, "MAX_ANSWER_BYTES", CAP)
    gateway = Gateway(fake_project, env=fake_env, use_cache=False)
    request = chat("openai/gpt-4o-mini")

    def sequence(call: Callable[[], object]) -> tuple[ProviderError, object]:
        if how == "after a cookie":  # a normal answer sets the cookie first
            fake_llm.raw(OK_WITH_COOKIE, wire="openai", headers={"set-cookie": "s=abc; Path=/"})
            call()
        _answer(fake_llm, how)
        with pytest.raises(ProviderError) as info:
            call()
        fake_llm.reply("x" * SMALL_OK)  # the connection pool is fine afterwards
        return info.value, call()

    if blocking:
        try:
            error, answered = sequence(lambda: gateway.complete_sync(request))
        finally:
            gateway.close()
    else:  # every call on one event loop: its client keeps the cookie between calls
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()

        def on_loop() -> object:
            return asyncio.run_coroutine_threadsafe(gateway.complete(request), loop).result()

        try:
            error, answered = sequence(on_loop)
        finally:
            asyncio.run_coroutine_threadsafe(gateway.aclose(), loop).result()
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()
            gateway.close()
    assert error.kind == "bad_response", error
    assert "larger than 1 MiB" in error.message and "openai/gpt-4o-mini" in str(error)
    assert getattr(answered, "text", "") == "x" * SMALL_OK
    if how == "after a cookie":  # the later requests went out with the cookie: httpx2's path
        assert "s=abc" in fake_llm.requests[-1].headers.get("cookie", "")


@pytest.mark.parametrize("blocking", [False, True], ids=["async", "blocking"])
def test_a_gzip_bomb_answering_a_stream_request_stops_at_the_cap(
    blocking: bool,
    fake_llm: FakeLLM,
    fake_project: Project,
    fake_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stream request answered with one JSON body (an error, or a server ignoring
    `stream`) is read whole; that read was not capped (session 14: a 300 MiB bomb was
    decoded in full, a larger one would take all memory)."""
    monkeypatch.setattr(_http11, "MAX_ANSWER_BYTES", CAP)
    gateway = Gateway(fake_project, env=fake_env, use_cache=False)
    request = chat("openai/gpt-4o-mini")
    fake_llm.raw(gzip.compress(BIG), wire="openai", headers={"content-encoding": "gzip"})
    if blocking:
        try:
            with pytest.raises(ProviderError, match="larger than") as info:
                for _ in gateway.stream_sync(request):
                    pass
        finally:
            gateway.close()
    else:

        async def read() -> None:
            try:
                async for _ in gateway.stream(request):
                    pass
            finally:
                await gateway.aclose()

        with pytest.raises(ProviderError, match="larger than") as info:
            asyncio.run(read())
    assert info.value.kind == "bad_response"
