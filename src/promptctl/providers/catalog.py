"""What `promptctl providers` shows: configured providers and known prices, as data."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from typing import Any

from promptctl.promptfile.model import Project
from promptctl.providers.pricing import Price, known_prices, price_for

__all__ = ["provider_catalog", "used_targets"]


def used_targets(project: Project) -> list[str]:
    """Every `provider/model` the project's prompts may call (main, fallbacks, routes, judge).

    Files with errors still count: their model lines are usually fine, and the user
    asking for prices is often in the middle of fixing them.
    """
    from promptctl.promptfile.loader import load_prompts

    found = {project.judge}
    for file in load_prompts(project).files:
        if file.prompt is not None:
            model = file.prompt.model
            found.update([model.use, *(t.use for t in model.fallbacks)])
            found.update(r.use for r in model.routes)
    return sorted(found)


def _prices(
    project: Project, match: str | None, targets: Collection[str] | None
) -> list[tuple[str, Price | None]]:
    if targets is None:
        return [
            (target, price)
            for target, price in known_prices(project)
            if match is None or match.lower() in target.lower()
        ]
    return [(t, price_for(t, project)) for t in sorted({*targets, *project.pricing})]


def provider_catalog(
    project: Project,
    *,
    env: Mapping[str, str] | None = None,
    match: str | None = None,
    targets: Collection[str] | None = None,
) -> dict[str, Any]:
    """Providers (with whether their key variable is set, never its value) and prices.

    Prices cover the whole shipped table (narrowed by `match`), or, with `targets`, just
    those models plus the `pricing:` overrides; a target without a price has None values.
    """
    env = os.environ if env is None else env
    providers = [
        {
            "name": s.name,
            "kind": s.kind,
            "base_url": s.base_url,
            "api_key_env": s.api_key_env,
            "key_set": bool(s.api_key_env and env.get(s.api_key_env)),
            "timeout_s": s.timeout_s,
            "max_concurrency": s.max_concurrency,
            "rpm": s.rpm,
            "max_retries": s.max_retries,
        }
        for s in sorted(project.providers.values(), key=lambda s: s.name)
    ]
    prices = [
        {
            "model": target,
            "input": p.input if p else None,
            "output": p.output if p else None,
            "cached_input": p.cached_input if p else None,
            "cache_write": p.cache_write if p else None,
            "cache_write_1h": p.cache_write_1h if p else None,
            "effective_from": p.effective_from if p else None,
            "source": p.source if p else "unknown",
        }
        for target, p in _prices(project, match, targets)
    ]
    return {"providers": providers, "prices": prices, "unit": "USD per 1M tokens"}
