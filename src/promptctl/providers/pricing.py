"""Token prices and the cost of a call.

Prices come from `data/prices.json`, a compact extract of pydantic's genai-prices built
by `tools/build_prices.py` (importing genai_prices itself costs ~120 ms, too much for
the runtime path). Each model keeps every dated price period, so a call is priced at
the price in force on its date. `pricing:` in promptctl.yaml overrides and extends it.

Cost rules (USD per million tokens; `Usage` is already normalised by the adapters):
    (input - cached - cache_write) * input + cached * cache_read
    + (cache_write - write_1h) * cache_write + write_1h * cache_write_1h + output * output
Missing cache prices fall back to the input price. An unknown model costs None (with a
warning), never a silent 0; a model whose every rate is 0 (a local one) costs 0 even when
its server reports no usage.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from promptctl.promptfile.model import DEFAULT_PROVIDERS, Project, ProviderSettings
from promptctl.providers.types import Usage

__all__ = ["Price", "cost_usd", "known_cost", "known_prices", "price_for", "price_provider"]

log = logging.getLogger("promptctl.providers")


@dataclass(frozen=True)
class Price:
    """USD per million tokens, valid from `effective_from` (None: since ever)."""

    model: str
    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None
    cache_write_1h: float | None = None
    source: str = ""
    effective_from: str | None = None
    tiers: Mapping[str, tuple[tuple[int, float], ...]] = field(default_factory=dict)

    @property
    def free(self) -> bool:
        """Every rate is 0: any usage, read or not, costs nothing."""
        rates = [self.input, self.output, self.cached_input, self.cache_write, self.cache_write_1h]
        rates += [rate for tier in self.tiers.values() for _, rate in tier]
        return not any(rates)


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    text = resources.files("promptctl.providers").joinpath("data/prices.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def _match(clause: Mapping[str, Any], ref: str) -> bool:
    if "or" in clause:
        return any(_match(c, ref) for c in clause["or"])
    if "and" in clause:
        return all(_match(c, ref) for c in clause["and"])
    if "eq" in clause:
        return ref == str(clause["eq"])
    if "sw" in clause:
        return ref.startswith(clause["sw"])
    if "ew" in clause:
        return ref.endswith(clause["ew"])
    if "in" in clause:
        return str(clause["in"]) in ref
    if "re" in clause:
        return re.search(clause["re"], ref) is not None
    return False


def price_provider(settings: ProviderSettings) -> str:
    """The genai-prices provider id whose table prices this provider's models."""
    if settings.kind == "gemini":
        return "google"
    if settings.kind == "openai-responses":  # the same models at the same prices
        return "openai"
    if settings.kind == "openai-compatible":
        return settings.dialect or settings.name
    return settings.kind


def _settings(project: Project | None, provider: str) -> ProviderSettings | None:
    providers = project.providers if project is not None else DEFAULT_PROVIDERS
    return providers.get(provider)


def price_for(
    target: str, project: Project | None = None, at: datetime.date | None = None
) -> Price | None:
    """The price of `provider/model` on date `at` (default today), or None if unknown."""
    if project is not None and target in project.pricing:
        o = project.pricing[target]
        return Price(
            target, o.input, o.output, o.cached_input, o.cache_write, source="promptctl.yaml"
        )
    provider, _, model = target.partition("/")
    settings = _settings(project, provider)
    table_id = price_provider(settings) if settings is not None else provider
    table = _table()
    ref = model.lower()
    # A reseller (Azure) falls back to the original vendor's table, as genai-prices does.
    for table_name in (table_id, *table.get("fallbacks", {}).get(table_id, ())):
        for entry in table["providers"].get(table_name, []):
            if _match(entry["match"], ref):
                return _period(entry, table, (at or datetime.date.today()).isoformat())
    return None


def _period(entry: Mapping[str, Any], table: Mapping[str, Any], day: str) -> Price:
    chosen = entry["prices"][0]
    for period in entry["prices"]:
        if period["from"] is None or period["from"] <= day:
            chosen = period  # later periods win once in force
    return Price(
        model=str(entry["id"]),
        input=float(chosen["input"]),
        output=float(chosen["output"]),
        cached_input=chosen.get("cache_read"),
        cache_write=chosen.get("cache_write"),
        cache_write_1h=chosen.get("cache_write_1h"),
        source=f"{table['source']} checked {table['checked']}",
        effective_from=chosen["from"],
        tiers={
            k: tuple((int(a), float(b)) for a, b in v) for k, v in chosen.get("tiers", {}).items()
        },
    )


def _rate(price: Price, name: str, base: float | None, input_tokens: int) -> float:
    rate = base if base is not None else price.input
    for start, tier_price in price.tiers.get(name, ()):
        if input_tokens > start:  # cliff tiers: the whole request pays the tier price
            rate = tier_price
    return rate


def cost_usd(
    usage: Usage, price: Price | None, *, target: str = "", warn: bool = True
) -> float | None:
    """USD cost of `usage` at `price`; None (and a warning unless `warn` is False: the
    gateway warns once per target itself) when the price is unknown."""
    if price is None:
        if warn:
            log.warning("no price known for %s: cost is unknown", target or "this model")
        return None
    n_in = usage.input_tokens
    cached = usage.cached_input_tokens
    writes = usage.cache_write_tokens
    writes_1h = min(usage.cache_write_1h_tokens, writes)
    plain = max(0, n_in - cached - writes)
    write_1h_rate = price.cache_write_1h if price.cache_write_1h is not None else price.cache_write
    total = (
        plain * _rate(price, "input", price.input, n_in)
        + cached * _rate(price, "cache_read", price.cached_input, n_in)
        + (writes - writes_1h) * _rate(price, "cache_write", price.cache_write, n_in)
        + writes_1h * _rate(price, "cache_write_1h", write_1h_rate, n_in)
        + usage.output_tokens * _rate(price, "output", price.output, n_in)
    )
    return total / 1_000_000


def known_cost(usage: Usage, usage_known: bool, price: Price | None) -> float | None:
    """The cost when it is known: the usage was read and priced, or the price is 0 for
    every token (a local model answers for nothing even when it reports no usage)."""
    if price is None or not (usage_known or price.free):
        return None
    return cost_usd(usage, price, warn=False)


def known_prices(project: Project | None = None) -> list[tuple[str, Price]]:
    """Prices of the models `promptctl providers` lists: overrides plus the table's."""
    out: list[tuple[str, Price]] = []
    seen: set[str] = set()
    if project is not None:
        for target in sorted(project.pricing):
            price = price_for(target, project)
            if price is not None:
                out.append((target, price))
                seen.add(target)
    providers = project.providers if project is not None else DEFAULT_PROVIDERS
    table = _table()
    today = datetime.date.today().isoformat()
    for name in sorted(providers):
        for entry in table["providers"].get(price_provider(providers[name]), []):
            target = f"{name}/{entry['id']}"
            if target not in seen:
                out.append((target, _period(entry, table, today)))
    return out
