"""Context resolvers: functions that fill inputs the caller did not pass.

A resolver is registered for one input name and is called as `fn(inputs)`, where
`inputs` is a read-only view of what the caller passed (so `customer` can be looked up
from `customer_id`). It may be sync or async and returns the input's value. Resolvers
run only for inputs the prompt declares and the caller omitted, in the order the
prompt declares its inputs; each sees the values resolved before it. An exception a
resolver raises propagates unchanged (with a note naming the input and prompt).
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any

from promptctl.promptfile.model import Prompt

__all__ = ["Resolver", "Resolvers"]

Resolver = Callable[[Mapping[str, Any]], Any]


class Resolvers:
    """A name -> resolver table; thread-safe registration, lock-free lookup."""

    def __init__(self) -> None:
        self._table: dict[str, Resolver] = {}
        self._lock = threading.Lock()

    def register(self, name: str, fn: Resolver) -> None:
        if not callable(fn):
            raise TypeError(f"resolver for {name!r} is not callable")
        with self._lock:
            table = dict(self._table)
            table[name] = fn
            self._table = table  # copy-on-write: readers never see a half-updated dict

    def _pending(self, prompt: Prompt, given: Mapping[str, Any]) -> list[tuple[str, Resolver]]:
        table = self._table
        if not table:
            return []
        return [(n, table[n]) for n in prompt.inputs if n not in given and n in table]

    def resolve_sync(self, prompt: Prompt, given: Mapping[str, Any]) -> dict[str, Any]:
        """Fill missing inputs in the caller's thread; async resolvers run via asyncio.run."""
        values = dict(given)
        for name, fn in self._pending(prompt, values):
            result = _call(prompt, name, fn, values)
            if inspect.isawaitable(result):
                result = _run_awaitable(prompt, name, result)
            values[name] = result
        return values

    async def resolve_async(self, prompt: Prompt, given: Mapping[str, Any]) -> dict[str, Any]:
        """Fill missing inputs; sync resolvers are called inline on the running loop."""
        values = dict(given)
        for name, fn in self._pending(prompt, values):
            result = _call(prompt, name, fn, values)
            if inspect.isawaitable(result):
                try:
                    result = await result
                except Exception as exc:
                    _note(prompt, name, exc)
                    raise
            values[name] = result
        return values


def _call(prompt: Prompt, name: str, fn: Resolver, values: dict[str, Any]) -> Any:
    try:
        return fn(MappingProxyType(values))
    except Exception as exc:
        _note(prompt, name, exc)
        raise


def _run_awaitable(prompt: Prompt, name: str, awaitable: Awaitable[Any]) -> Any:
    """Run an async resolver to completion from sync code.

    On a fresh event loop; when this thread already runs one (run() called from async
    code), on a short-lived helper thread, since a loop cannot be nested.
    """
    import asyncio

    async def wrap() -> Any:
        return await awaitable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        runner = None
    else:
        from concurrent.futures import ThreadPoolExecutor

        runner = ThreadPoolExecutor(1, thread_name_prefix="promptctl-resolver")
    try:
        if runner is None:
            return asyncio.run(wrap())
        with runner:
            return runner.submit(asyncio.run, wrap()).result()
    except Exception as exc:
        _note(prompt, name, exc)
        raise


def _note(prompt: Prompt, name: str, exc: Exception) -> None:
    """The application's own exception propagates unchanged, with where it came from."""
    exc.add_note(f"while resolving input '{name}' of prompt {prompt.id}")
