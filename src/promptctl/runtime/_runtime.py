"""`Runtime`: serve a verified bundle's prompts to an application.

One Runtime holds one bundle at a time (swapped atomically by `reload()`), one
provider `Gateway` (one connection pool per event loop, a shared circuit breaker) and
optionally a ledger. `run()` is safe from many threads (each call runs on its caller's
thread with a shared blocking connection pool); `arun()` is safe from many tasks of any
event loop.
See docs/runtime.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from promptctl.errors import BundleError, UsageError
from promptctl.promptfile.chat import ChatMessage
from promptctl.promptfile.model import Prompt, ProviderSettings
from promptctl.providers.types import CallContext
from promptctl.runtime._bundle import LoadedBundle, load_bundle
from promptctl.runtime._deployment import (
    LEDGER_ENV,
    SHARED_STATE_ENV,
    LedgerLike,
    check_deployment,
    open_ledger,
    open_shared_state,
)
from promptctl.runtime._prepare import Prepared, prepare, render_only, to_result
from promptctl.runtime._resolvers import NO_FALLBACK, Resolved, Resolver, Resolvers
from promptctl.runtime._result import RunResult
from promptctl.runtime._service import (
    Watch,
    check_forward,
    project_for,
    warn_lifecycle,
    warn_unverified,
)
from promptctl.runtime._stream import StreamChunk, arun_stream, run_stream
from promptctl.runtime._tracing import enabled as tracing_enabled
from promptctl.runtime._tracing import record_attempt, span

if TYPE_CHECKING:
    from promptctl.providers.embeddings import EmbedResult
    from promptctl.providers.gateway import Gateway
    from promptctl.providers.shared_state import SharedState
    from promptctl.providers.types import CallRecord

__all__ = ["LEDGER_ENV", "SHARED_STATE_ENV", "LedgerLike", "Runtime"]

F = TypeVar("F", bound=Resolver)


class Runtime:
    """Load with `Runtime.load(path, ...)`; use as a (async) context manager or `close()`."""

    def __init__(
        self,
        bundle: LoadedBundle,
        *,
        public_key: bytes | str | Path | None = None,
        providers: Mapping[str, ProviderSettings | Mapping[str, Any]] | None = None,
        ledger: LedgerLike | None = None,
        owns_ledger: bool = False,
        env: Mapping[str, str] | None = None,
        watch: bool = False,
        watch_interval_s: float = 2.0,
        tags: tuple[str, ...] = (),
        gateway_options: Mapping[str, Any] | None = None,
        targets: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        shared_state: SharedState | None = None,
        owns_shared_state: bool = False,
    ) -> None:
        self._bundle = bundle
        self._public_key = public_key
        self._overrides = providers
        self._ledger = ledger
        self._owns_ledger = owns_ledger
        self._env = env
        self._watcher = Watch(watch_interval_s, clock) if watch else None
        self._tags = tags
        self._targets = dict(targets or {})
        self._gateway_options = dict(gateway_options or {})
        self._shared_state = shared_state
        self._owns_shared_state = owns_shared_state
        self._resolvers = Resolvers(clock)
        self._gateway_: Gateway | None = None
        self._lock = threading.Lock()  # gateway creation and bundle swaps
        self._closed = False
        self.last_reload_error: BundleError | None = None

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        public_key: bytes | str | Path | None = None,
        ledger: LedgerLike | str | Path | Literal[False] | None = None,
        providers: Mapping[str, ProviderSettings | Mapping[str, Any]] | None = None,
        env: Mapping[str, str] | None = None,
        watch: bool = False,
        watch_interval_s: float = 2.0,
        tags: tuple[str, ...] = (),
        gateway_options: Mapping[str, Any] | None = None,
        targets: Mapping[str, str] | None = None,
        shared_state: SharedState | str | Literal[False] | None = None,
    ) -> Runtime:
        """Verify and load a bundle; raise BundleError when it cannot be trusted.

        `path` is a release directory (its `latest` bundle, refused when the directory
        holds a newer valid release: a rollback; `reload()` and `watch` then follow the
        pointer, never backwards) or one `*.bundle.json` file: an explicit pin, the way
        to serve an older release on purpose.
        `public_key` (a path, or the PEM as bytes or text) makes a signature mandatory. `ledger`: a
        `Ledger` (yours to close), a path or a `postgresql://` URL (opened and closed by the
        runtime), False for none, or None: the path or URL in the `PROMPTCTL_LEDGER`
        environment variable, else none.
        `providers` overrides the bundle's provider settings per deployment; `env`
        (default `os.environ`) supplies the API keys. `targets` pins prompts to a model
        per deployment (`{"support/triage": "anthropic/claude-3-5-haiku-latest"}`), with
        the meaning `promptctl test --target` gives it: a fallback's own messages and
        params, no fallbacks (docs/providers.md, "Fallbacks"). `shared_state`: the fleet's
        rate limits, retry-after pauses and circuit breakers in Redis: a `redis://` URL, a
        `SharedState` (yours to close), False for none, or None: the URL in
        `PROMPTCTL_SHARED_STATE`, else none (docs/deployment.md).
        """
        if isinstance(public_key, str) and public_key.lstrip().startswith("-----BEGIN"):
            public_key = public_key.encode("ascii")  # PEM text, not a path
        bundle = load_bundle(Path(path), public_key=public_key, overrides=providers)
        check_deployment(
            bundle, tags=tags, targets=targets, gateway_options=gateway_options,
            watch_interval_s=watch_interval_s,
        )  # fmt: skip
        warn_unverified(bundle)
        warn_lifecycle(bundle, env)
        sink, owns_ledger = open_ledger(ledger, env)
        shared, owns_shared = open_shared_state(shared_state, env)
        return cls(
            bundle,
            public_key=public_key,
            providers=providers,
            ledger=sink,
            owns_ledger=owns_ledger,
            env=env,
            watch=watch,
            watch_interval_s=watch_interval_s,
            tags=tags,
            gateway_options=gateway_options,
            targets=targets,
            shared_state=shared,
            owns_shared_state=owns_shared,
        )

    # ---- the bundle -------------------------------------------------------------

    @property
    def bundle(self) -> LoadedBundle:
        """The bundle in service (digest, signed/verified, prompts, providers)."""
        return self._bundle

    @property
    def ledger(self) -> LedgerLike | None:
        return self._ledger

    def prompt(self, ref: str) -> Prompt:
        """The bundled prompt for `id` or `id@version` (a pin must match the bundle)."""
        if not isinstance(ref, str):
            raise TypeError(f"a prompt is named by its id, a str; got {type(ref).__name__}")
        prompt_id, _, version = ref.partition("@")
        prompt = self._bundle.prompts.get(prompt_id)
        if prompt is None:
            raise BundleError(
                f"prompt {prompt_id!r} is not in bundle {self._bundle.digest}",
                hint=self._bundle.not_held_hint(prompt_id),
            )
        if version and version != prompt.version:
            raise BundleError(
                f"{prompt_id}@{version} is pinned but bundle {self._bundle.digest} holds "
                f"{prompt_id}@{prompt.version}",
                hint="deploy the bundle with that version or change the pin",
            )
        return prompt

    def reload(self) -> bool:
        """Load the file again; True when a different bundle is now in service.

        A bundle that fails verification, or whose release sequence is older than the
        one in service (or the same sequence with other content), raises BundleError and
        the last good one stays in service (also recorded in `last_reload_error`): a
        reload never goes backwards.
        """
        current = self._bundle
        try:
            fresh = load_bundle(
                current.source, public_key=self._public_key, overrides=self._overrides
            )
            check_forward(current, fresh)
        except BundleError as exc:
            self.last_reload_error = exc
            raise
        self.last_reload_error = None
        warn_unverified(fresh)
        warn_lifecycle(fresh, self._env)
        with self._lock:
            self._bundle = fresh
            if self._gateway_ is not None:
                self._gateway_.project = project_for(fresh)
        return fresh.digest != current.digest

    def _check_watch(self) -> None:
        """With `watch=True`: reload if the file in service changed (service/Watch)."""
        if self._watcher is not None:
            self._watcher.poll(self._bundle, self.reload)

    # ---- resolvers ----------------------------------------------------------------

    @overload
    def resolver(
        self,
        name: str,
        *,
        timeout_s: float | None = ...,
        cache_ttl_s: float | None = ...,
        cache_size: int = ...,
        fallback: Any = ...,
        reads: tuple[str, ...] | None = ...,
    ) -> Callable[[F], F]: ...
    @overload
    def resolver(
        self,
        name: str,
        fn: F,
        *,
        timeout_s: float | None = ...,
        cache_ttl_s: float | None = ...,
        cache_size: int = ...,
        fallback: Any = ...,
        reads: tuple[str, ...] | None = ...,
    ) -> F: ...
    def resolver(
        self,
        name: str,
        fn: F | None = None,
        *,
        timeout_s: float | None = None,
        cache_ttl_s: float | None = None,
        cache_size: int = 1024,
        fallback: Any = NO_FALLBACK,
        reads: tuple[str, ...] | None = None,
    ) -> F | Callable[[F], F]:
        """Register `fn(inputs) -> value` (sync or async) for input `name`; or decorate.

        `timeout_s`: give up after that long; `fallback`: the value to use when it times
        out or raises (else the input's default; a required input with neither fails
        the call with ContextError); `cache_ttl_s`/`cache_size`: keep values that long,
        keyed by the values read; `reads`: the inputs it reads (default: all the caller
        passed; naming an input another resolver fills runs it after that one).
        """
        options: dict[str, Any] = {
            "timeout_s": timeout_s,
            "cache_ttl_s": cache_ttl_s,
            "cache_size": cache_size,
            "fallback": fallback,
            "reads": reads,
        }
        if fn is not None:
            self._resolvers.register(name, fn, **options)
            return fn

        def decorate(f: F) -> F:
            self._resolvers.register(name, f, **options)
            return f

        return decorate

    # ---- calls ----------------------------------------------------------------------

    def render(self, ref: str, /, **inputs: Any) -> list[dict[str, Any]]:
        """The messages `run` would send, for applications that keep their own client
        (`{role, content}`; history tool turns keep `tool_calls` / `tool_call_id`)."""
        prompt = self._current(ref)
        values = self._resolvers.resolve_sync(prompt, inputs).values
        return [_message_dict(m) for m in render_only(prompt, values, self._targets.get(prompt.id))]

    def _current(self, ref: str) -> Prompt:
        """`ref`'s prompt in the release being served (a watched directory is checked first)."""
        self._check_watch()
        return self.prompt(ref)

    def _plan(self, prompt: Prompt, resolved: Resolved) -> Prepared:
        """The one call plan for resolved inputs, as run, arun, stream and astream send it."""
        return prepare(
            prompt, resolved.values, self._tags, self._targets.get(prompt.id), resolved.degraded
        )

    def run(self, ref: str, /, **inputs: Any) -> RunResult:
        """Resolve, validate, render, route and call; raise ProviderError if no target answers."""
        prompt = self._current(ref)
        resolved = self._resolvers.resolve_sync(prompt, inputs)
        degraded = resolved.degraded
        call = self._plan(prompt, resolved)
        gateway = self._gateway()
        started = time.perf_counter()
        with span(prompt, call.request.target) as trace:
            try:
                response = gateway.complete_sync(
                    call.request, fallbacks=call.fallbacks, context=call.context
                )
            except RuntimeError:  # httpx: "the client has been closed" by a racing close()
                if self._closed:
                    raise _closed_error() from None
                raise
            trace.answered(response)
            trace.degraded(degraded)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        return to_result(prompt, response, elapsed_ms, degraded, call.plan)

    async def arun(self, ref: str, /, **inputs: Any) -> RunResult:
        """`run` for asyncio code: the call runs on the caller's event loop."""
        prompt = self._current(ref)
        resolved = await self._resolvers.resolve_async(prompt, inputs)
        degraded = resolved.degraded
        call = self._plan(prompt, resolved)
        gateway = self._gateway()
        started = time.perf_counter()
        with span(prompt, call.request.target) as trace:
            try:
                response = await gateway.complete(
                    call.request, fallbacks=call.fallbacks, context=call.context
                )
            except RuntimeError:
                if self._closed:
                    raise _closed_error() from None
                raise
            trace.answered(response)
            trace.degraded(degraded)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        return to_result(prompt, response, elapsed_ms, degraded, call.plan)

    def embed(
        self,
        texts: str | Sequence[str],
        *,
        model: str,
        fallbacks: Sequence[str] = (),
        dimensions: int | None = None,
        task_type: str | None = None,
    ) -> EmbedResult:
        """Embedding vectors of `texts` (one per text, in order) from `model`.

        `model` is `provider/model` (a provider of the bundle, a built-in one such as
        `openai` or `gemini`, or one added with `providers=`); `fallbacks` are tried in
        order when it fails, only if their vectors have the same dimension: `dimensions`
        when given (asked of every target), else as known from the first answer. Batched
        within the provider's limits, retried, and one ledger row per HTTP request
        (docs/runtime.md, "Embeddings"). `task_type` (Gemini's `taskType`, such as
        RETRIEVAL_QUERY or RETRIEVAL_DOCUMENT) is sent to Gemini targets only.
        """
        self._check_watch()  # a new release may change the provider settings
        gateway = self._gateway()
        context = CallContext(source="runtime", tags=self._tags)
        try:
            return gateway.embed_sync(
                texts,
                model=model,
                fallbacks=fallbacks,
                dimensions=dimensions,
                task_type=task_type,
                context=context,
            )
        except RuntimeError:  # httpx: "the client has been closed" by a racing close()
            if self._closed:
                raise _closed_error() from None
            raise

    async def aembed(
        self,
        texts: str | Sequence[str],
        *,
        model: str,
        fallbacks: Sequence[str] = (),
        dimensions: int | None = None,
        task_type: str | None = None,
    ) -> EmbedResult:
        """`embed` for asyncio code: the batches of one call are sent concurrently."""
        self._check_watch()
        gateway = self._gateway()
        context = CallContext(source="runtime", tags=self._tags)
        try:
            return await gateway.embed(
                texts,
                model=model,
                fallbacks=fallbacks,
                dimensions=dimensions,
                task_type=task_type,
                context=context,
            )
        except RuntimeError:
            if self._closed:
                raise _closed_error() from None
            raise

    def stream(
        self, ref: str, /, *, first_token_s: float | None = None, **inputs: Any
    ) -> Iterator[StreamChunk]:
        """`run`, streamed: yields the answer's text deltas (str), then its `RunResult`
        (with `ttft_ms`). Inputs are resolved and validated before this returns.

        Failures before the first token fail over like `run` (`first_token_s`: a deadline
        for it, per target); after it, a broken stream raises `StreamInterrupted` with the
        partial text. Closing the iterator early closes the HTTP response (docs/runtime.md,
        "Streaming").
        """
        _check_first_token(first_token_s)
        prompt = self._current(ref)
        resolved = self._resolvers.resolve_sync(prompt, inputs)
        degraded = resolved.degraded
        call = self._plan(prompt, resolved)
        started = time.perf_counter()
        items = self._gateway().stream_sync(
            call.request,
            fallbacks=call.fallbacks,
            context=call.context,
            first_token_s=first_token_s,
        )
        return run_stream(prompt, call, items, started, degraded)

    async def astream(
        self, ref: str, /, *, first_token_s: float | None = None, **inputs: Any
    ) -> AsyncGenerator[StreamChunk, None]:
        """`stream` for asyncio code (`async for`); on the caller's event loop."""
        _check_first_token(first_token_s)
        prompt = self._current(ref)
        resolved = await self._resolvers.resolve_async(prompt, inputs)
        degraded = resolved.degraded
        call = self._plan(prompt, resolved)
        started = time.perf_counter()
        items = self._gateway().stream(
            call.request,
            fallbacks=call.fallbacks,
            context=call.context,
            first_token_s=first_token_s,
        )
        chunks = arun_stream(prompt, call, items, started, degraded)
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            await chunks.aclose()

    # ---- lifecycle ----------------------------------------------------------------

    def close(self) -> None:
        """End the runtime: close every connection and (if the runtime opened it) flush and
        close the ledger. Idempotent; later `run()`/`arun()` calls raise UsageError."""
        with self._lock:
            self._closed = True
            gateway, self._gateway_ = self._gateway_, None
        if gateway is not None:
            gateway.close()
        if self._owns_ledger and self._ledger is not None:
            close = getattr(self._ledger, "close", None)
            if close is not None:
                close()
        if self._owns_shared_state and self._shared_state is not None:
            self._shared_state.close()

    async def aclose(self) -> None:
        """Close the current event loop's connections only.

        Shared resources (the ledger, the blocking pool other threads use, the breaker)
        stay open, so one loop finishing never cuts off threads or other loops still
        calling; `close()` (or leaving `with`/`async with`) ends the runtime.
        """
        gateway = self._gateway_
        if gateway is not None:
            await gateway.aclose()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Runtime:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
        self.close()

    # ---- plumbing -----------------------------------------------------------------

    def _gateway(self) -> Gateway:
        gateway = self._gateway_
        if gateway is not None:
            return gateway
        with self._lock:
            if self._closed:
                raise _closed_error()
            if self._gateway_ is None:
                from promptctl.providers.gateway import Gateway

                self._gateway_ = Gateway(
                    project_for(self._bundle),
                    mode="live",
                    use_cache=False,
                    env=self._env,
                    on_call=self._on_call(),
                    on_call_blocks=self._ledger is not None,
                    shared_state=self._shared_state,
                    **self._gateway_options,
                )
            return self._gateway_

    def _on_call(self) -> Callable[[CallRecord], None] | None:
        """The ledger's `record`, plus attempt spans when OpenTelemetry is installed."""
        record = self._ledger.record if self._ledger is not None else None
        if not tracing_enabled():
            return record
        if record is None:
            return record_attempt

        def both(call: CallRecord) -> None:
            record(call)
            record_attempt(call)

        return both


def _check_first_token(first_token_s: float | None) -> None:
    if first_token_s is not None and (
        isinstance(first_token_s, bool)
        or not isinstance(first_token_s, int | float)
        or not first_token_s > 0
    ):
        raise UsageError(
            f"first_token_s={first_token_s!r}: a deadline must be a positive number of seconds",
            hint="pass e.g. first_token_s=5, or None for no first-token deadline",
        )


def _closed_error() -> UsageError:
    return UsageError(
        "this Runtime is closed: close() ended it (its connections and ledger)",
        hint="load a new Runtime; to end only one event loop's connections use aclose()",
    )


def _message_dict(m: ChatMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        out["tool_calls"] = [c.to_dict() for c in m.tool_calls]
    if m.tool_call_id is not None:
        out["tool_call_id"] = m.tool_call_id
    if m.name is not None:
        out["name"] = m.name
    return out
