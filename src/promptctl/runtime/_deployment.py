"""The per-deployment arguments of `Runtime.load`: checked when it loads, and the
ledger and shared state they name, opened.

A typo in them (`tags="prod"`, a pin for a prompt the bundle does not hold, a target on
a provider nobody configured, an option the gateway does not take) would otherwise
surface on the first call in production, as a `TypeError`, or never.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from promptctl.errors import BundleError, UsageError
from promptctl.promptfile.model import DEFAULT_PROVIDERS
from promptctl.runtime._bundle import LoadedBundle

if TYPE_CHECKING:
    from promptctl.providers.shared_state import SharedState
    from promptctl.providers.types import CallRecord

__all__ = [
    "GATEWAY_OPTIONS",
    "LEDGER_ENV",
    "SHARED_STATE_ENV",
    "LedgerLike",
    "check_deployment",
    "open_ledger",
    "open_shared_state",
]

# Where `ledger=None` looks for a ledger path: set it in a deployment to turn the ledger
# on without a code change.
LEDGER_ENV = "PROMPTCTL_LEDGER"
# Where `shared_state=None` looks for the fleet's Redis URL (docs/deployment.md).
SHARED_STATE_ENV = "PROMPTCTL_SHARED_STATE"


class LedgerLike(Protocol):
    def record(self, record: CallRecord) -> None: ...


GATEWAY_OPTIONS = frozenset(
    {
        "breaker_cooldown_s",
        "breaker_threshold",
        "clock",
        "deadline_s",
        "probe_wait",
        "retry_base_s",
        "rng",
        "sleep",
        "sync_sleep",
    }
)
"""What `gateway_options` may set: the `Gateway` parameters the runtime leaves open."""


def check_deployment(
    bundle: LoadedBundle,
    *,
    tags: Sequence[str],
    targets: Mapping[str, str] | None,
    gateway_options: Mapping[str, Any] | None,
    watch_interval_s: float = 2.0,
) -> None:
    """UsageError / BundleError naming the argument that cannot work with `bundle`."""
    if not 0 <= watch_interval_s < float("inf"):  # NaN too: it would check on every call
        raise UsageError(
            f"watch_interval_s={watch_interval_s!r}: pass a number of seconds >= 0",
            hint="e.g. watch_interval_s=2.0 (0 checks the file on every call)",
        )
    if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
        raise UsageError(f"tags={tags!r}: pass a tuple of strings", hint=f"tags=({str(tags)!r},)")
    unknown = sorted(set(gateway_options or {}) - GATEWAY_OPTIONS)
    if unknown:
        raise UsageError(
            f"gateway_options: unknown option(s) {', '.join(unknown)}",
            hint="known: " + ", ".join(sorted(GATEWAY_OPTIONS)),
        )
    for prompt_id, target in (targets or {}).items():
        if prompt_id not in bundle.prompts:
            raise BundleError(
                f"targets pins {prompt_id!r}, which is not in bundle {bundle.digest}",
                hint=bundle.not_held_hint(prompt_id),
            )
        provider, sep, model = str(target).partition("/")
        if not sep or not provider or not model:
            raise UsageError(
                f"targets[{prompt_id!r}] = {target!r} is not provider/model",
                hint="e.g. anthropic/claude-3-5-haiku-latest",
            )
        if provider not in bundle.providers and provider not in DEFAULT_PROVIDERS:
            raise BundleError(
                f"targets[{prompt_id!r}] = {target!r}: provider {provider!r} is not configured",
                hint=f"add its settings with providers={{{provider!r}: {{'kind': ...}}}}",
            )


def open_ledger(
    ledger: LedgerLike | str | Path | Literal[False] | None, env: Mapping[str, str] | None
) -> tuple[LedgerLike | None, bool]:
    """The ledger `ledger` names, and whether the runtime owns it (opened it, closes it):
    a path (SQLite) or a `postgresql://` URL; None: `PROMPTCTL_LEDGER`, else none."""
    environ = env if env is not None else os.environ
    if ledger is None:
        ledger = environ.get(LEDGER_ENV) or False
    from promptctl.promptfile.project import is_ledger_url

    if isinstance(ledger, str) and is_ledger_url(ledger):
        from promptctl.ledger.postgres import PgLedger
        from promptctl.ledger.spool import SPOOL_ENV

        # the fleet's ledger (docs/deployment.md)
        return PgLedger(ledger, spool_dir=environ.get(SPOOL_ENV)), True
    if isinstance(ledger, str | Path):
        from promptctl.ledger.store import Ledger

        return Ledger(Path(ledger)), True
    return ledger or None, False


def open_shared_state(
    shared_state: SharedState | str | Literal[False] | None, env: Mapping[str, str] | None
) -> tuple[SharedState | None, bool]:
    """The fleet's shared state, and whether the runtime owns it: a `redis://` URL; None:
    `PROMPTCTL_SHARED_STATE`, else none."""
    if shared_state is None:
        shared_state = (env if env is not None else os.environ).get(SHARED_STATE_ENV) or False
    if isinstance(shared_state, str):
        from promptctl.providers.shared_state import shared_state_from

        return shared_state_from(shared_state, {}), True
    return shared_state or None, False
