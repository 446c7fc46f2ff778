"""The per-deployment arguments of `Runtime.load`, checked when it loads.

A typo in them (`tags="prod"`, a pin for a prompt the bundle does not hold, a target on
a provider nobody configured, an option the gateway does not take) would otherwise
surface on the first call in production, as a `TypeError`, or never.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promptctl.errors import BundleError, UsageError
from promptctl.promptfile.model import DEFAULT_PROVIDERS
from promptctl.runtime._bundle import LoadedBundle

__all__ = ["GATEWAY_OPTIONS", "check_deployment"]

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
) -> None:
    """UsageError / BundleError naming the argument that cannot work with `bundle`."""
    if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
        raise UsageError(f"tags={tags!r}: pass a tuple of strings", hint=f"tags=({str(tags)!r},)")
    unknown = sorted(set(gateway_options or {}) - GATEWAY_OPTIONS)
    if unknown:
        raise UsageError(
            f"gateway_options: unknown option(s) {', '.join(unknown)}",
            hint="known: " + ", ".join(sorted(GATEWAY_OPTIONS)),
        )
    held = ", ".join(sorted(bundle.prompts)) or "none"
    for prompt_id, target in (targets or {}).items():
        if prompt_id not in bundle.prompts:
            raise BundleError(
                f"targets pins {prompt_id!r}, which is not in bundle {bundle.digest}",
                hint=f"it holds: {held}",
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
