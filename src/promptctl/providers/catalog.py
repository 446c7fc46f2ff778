"""What `promptctl providers` shows: configured providers and known prices, as data."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from promptctl.providers.pricing import known_prices
from promptctl.spec.model import Project

__all__ = ["provider_catalog"]


def provider_catalog(
    project: Project, *, env: Mapping[str, str] | None = None, match: str | None = None
) -> dict[str, Any]:
    """Providers (with whether their key variable is set, never its value) and prices."""
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
            "input": p.input,
            "output": p.output,
            "cached_input": p.cached_input,
            "cache_write": p.cache_write,
            "cache_write_1h": p.cache_write_1h,
            "effective_from": p.effective_from,
            "source": p.source,
        }
        for target, p in known_prices(project)
        if match is None or match.lower() in target.lower()
    ]
    return {"providers": providers, "prices": prices, "unit": "USD per 1M tokens"}
