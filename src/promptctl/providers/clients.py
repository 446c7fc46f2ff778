"""The Gateway's HTTP connections: one pooled async client per event loop, one sync client.

Split from the Gateway because connection lifetime is its own job: an `httpx.AsyncClient`
belongs to the loop that made it, `asyncio.run` may end that loop at any time, and
`complete_sync` may need a private loop thread. The Gateway only asks for "a client
for here" and says when to close.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncGenerator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["ClientPool"]

T = TypeVar("T")


@dataclass(frozen=True)
class _LoopClient:
    client: Any
    closer: AsyncGenerator[None, None]


class ClientPool:
    """Clients with `max_connections` each; thread-safe."""

    def __init__(self, max_connections: int) -> None:
        self._max_connections = max_connections
        # one pooled client per event loop, closed when `asyncio.run` ends its loop
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient] = (
            weakref.WeakKeyDictionary()
        )
        self._clients_lock = threading.Lock()
        # the loop that asked last (weakly) and its client
        self._last: tuple[weakref.ref[asyncio.AbstractEventLoop], Any] | None = None
        self._sync_client: Any = None
        self._bg_loop: asyncio.AbstractEventLoop | None = None
        self._bg_thread: threading.Thread | None = None
        self._bg_lock = threading.Lock()

    @property
    def open_clients(self) -> int:
        """How many async clients are open (one per live event loop that asked)."""
        return len(self._clients)

    async def client(self) -> Any:
        """The async client of the running loop (made on first use)."""
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0]() is loop and not last[1].is_closed:
            return last[1]  # every call asks: the weak dictionary's lookup is slower
        entry = self._clients.get(loop)
        if entry is not None:
            self._last = (weakref.ref(loop), entry.client)
            return entry.client
        from promptctl.providers import _http  # not imported by a run that never calls

        client = _http.new_client(self._max_connections)
        closer = _close_at_loop_exit(self._clients, self._clients_lock, client)
        await closer.__anext__()  # now tracked by the loop: asyncio.run closes it at exit
        with self._clients_lock:  # loops of other threads add and drop clients too
            for old in [old for old in self._clients if old.is_closed()]:
                del self._clients[old]  # a loop closed without shutdown_asyncgens
            self._clients[loop] = _LoopClient(client, closer)
        return client

    def sync_client(self) -> Any:
        """The blocking client shared by every thread (made on first use)."""
        client = self._sync_client
        if client is None:
            with self._bg_lock:
                if self._sync_client is None:
                    from promptctl.providers import _http

                    self._sync_client = _http.new_sync_client(self._max_connections)
                client = self._sync_client
        return client

    def run_bg(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the private loop thread (started on first use) and wait for it."""
        with self._bg_lock:
            if self._bg_loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="promptctl-gateway", daemon=True
                )
                thread.start()
                self._bg_loop, self._bg_thread = loop, thread
            loop = self._bg_loop
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    async def aclose(self) -> None:
        """Close the running loop's client."""
        with self._clients_lock:
            entry = self._clients.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry.closer.aclose()  # closes the client

    def close(self, on_bg_loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Close the sync client and the private loop; `on_bg_loop()` (the owner's own
        `aclose`, closing that loop's client) runs on the loop before it stops."""
        with self._bg_lock:
            loop, thread = self._bg_loop, self._bg_thread
            self._bg_loop = self._bg_thread = None
            sync_client, self._sync_client = self._sync_client, None
        if sync_client is not None:
            sync_client.close()
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(on_bg_loop(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


async def _close_at_loop_exit(
    clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient],
    lock: threading.Lock,
    client: Any,
) -> AsyncGenerator[None, None]:
    """Parked at its yield; the loop's `shutdown_asyncgens` (run by `asyncio.run` before it
    closes the loop) resumes it, so the client's connections close on their own loop."""
    try:
        yield
    finally:
        loop = asyncio.get_running_loop()
        with lock:
            entry = clients.get(loop)
            if entry is not None and entry.client is client:
                del clients[loop]
        await client.aclose()
