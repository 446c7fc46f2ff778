"""Planning a target chain before any call: settings, adapter and key of each target.

Split from the Gateway because it is decided up front, without I/O: which targets of
`request, *fallbacks` can be called, which are skipped for an unset API key, and the one
config error to raise when none can. Also the chain's failure policy: which failures
count against a target's circuit, which stop the chain, and the error for a chain that
failed throughout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from promptctl.errors import ProviderError
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.model import Project, ProviderSettings
from promptctl.providers.base import Adapter, load_adapter
from promptctl.providers.types import SkippedTarget

if TYPE_CHECKING:
    from promptctl.providers.breaker import Admission, CircuitBreaker

__all__ = [
    "BREAKER_KINDS",
    "NO_FAILOVER",
    "Admitted",
    "ChainWalk",
    "TargetPlan",
    "chain_error",
    "check_some_key",
    "distinct_targets",
    "plan",
]

# Failures that say something about the target (not the request): they count towards
# opening its circuit.
BREAKER_KINDS = frozenset(
    {"rate_limit", "overloaded", "server", "timeout", "network", "bad_response", "auth", "quota"}
)
# Failures another target cannot fix: raised at once instead of falling over.
NO_FAILOVER = frozenset({"bad_request", "config"})


@dataclass(frozen=True)
class TargetPlan:
    request: ChatRequest
    settings: ProviderSettings
    adapter: Adapter
    api_key: str | None
    # the unset environment variable holding this target's key: the target is skipped
    missing_key: str | None = None


@dataclass
class ChainWalk:
    """One call's way down its chain: the targets passed over (with why), the last
    failure, and the largest context window the prompt overflowed (a target with no
    larger one is skipped). Shared by whole and streamed calls (`Gateway._admit`,
    `Gateway._failed`)."""

    skipped: list[SkippedTarget] = field(default_factory=list)
    last: ProviderError | None = None
    too_long_for: int | None = None

    def error(self) -> ProviderError:
        assert self.last is not None  # check_some_key: some target was called
        return chain_error(self.last, self.skipped)


@dataclass(frozen=True)
class Admitted:
    """A target the walk calls: its circuit, how it was admitted, the target failed
    over from (None for the first called) and its context window (None if unknown)."""

    breaker: CircuitBreaker
    admission: Admission
    origin: str | None
    window: int | None

    def abandon(self) -> None:
        """Cancelled, or a bug: no outcome for the circuit."""
        if self.admission == "trial":
            self.breaker.abandon()


def distinct_targets(request: ChatRequest, fallbacks: Sequence[ChatRequest]) -> list[ChatRequest]:
    """The chain without a fallback whose target is already in it: a model that just
    failed is not asked again under another name. `plan_call` builds chains this way
    already; the gateway holds the same line for callers that hand it their own."""
    chain = [request]
    for fallback in fallbacks:
        if all(fallback.target != r.target for r in chain):
            chain.append(fallback)
    return chain


def plan(project: Project, env: Mapping[str, str], request: ChatRequest) -> TargetPlan:
    """Settings, adapter and key of a target; an unset key marks it to be skipped."""
    settings = project.providers.get(request.provider)
    if settings is None:
        raise ProviderError(
            "config",
            f"unknown provider {request.provider!r} in {request.target!r}",
            hint="configure it under providers: in promptctl.yaml",
        )
    adapter = load_adapter(settings.kind)
    api_key: str | None = None
    if settings.api_key_env:
        api_key = env.get(settings.api_key_env) or None
        if api_key is None:
            return TargetPlan(request, settings, adapter, None, settings.api_key_env)
    elif adapter.needs_key:
        raise ProviderError(
            "config",
            "no api_key_env configured",
            provider=settings.name,
            hint=f"set providers.{settings.name}.api_key_env in promptctl.yaml",
        )
    return TargetPlan(request, settings, adapter, api_key)


def check_some_key(plans: Sequence[TargetPlan]) -> None:
    """Fail before any call when no target of the chain has its API key set.

    One unset variable keeps the familiar "X is not set"; several are named together
    with the targets needing them, so the user sees every way to make the chain work.
    """
    if any(p.missing_key is None for p in plans):
        return
    needed: dict[str, list[str]] = {}
    for p in plans:
        assert p.missing_key is not None
        targets = needed.setdefault(p.missing_key, [])
        if p.request.target not in targets:
            targets.append(p.request.target)
    first = plans[0].settings
    if len(needed) == 1:
        ((var, targets),) = needed.items()
        raise ProviderError(
            "config",
            f"{var} is not set ({', '.join(targets)})",
            provider=first.name,
            hint=f"export {var}=<your {first.name} API key>",
        )
    choices = " or ".join(f"{var} ({', '.join(t)})" for var, t in needed.items())
    raise ProviderError(
        "config",
        f"no target has its API key: set {choices}",
        hint="export one of these variables",
    )


def chain_error(last: ProviderError, skipped: Sequence[SkippedTarget]) -> ProviderError:
    """The error of a chain none of whose targets answered (`last`: the last one raised)."""
    if len(skipped) == 1:
        return last
    return ProviderError(
        last.kind,
        "all targets failed: " + "; ".join(s.message for s in skipped),
        status=last.status,
        hint=last.hint,
    )
