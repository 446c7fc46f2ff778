"""Build src/promptctl/providers/data/prices.json from the installed genai-prices.

Why: importing `genai_prices` costs ~120 ms (pydantic plus a 1.6 MB data module) on every
process that prices a call; the runtime must not pay that. This script runs at development
time, keeps only the providers promptctl speaks to and the token prices it uses, and keeps
every dated price period so old ledger rows stay right after a price change.

Run: .venv/bin/python tools/build_prices.py
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from genai_prices import data, types

PROVIDERS = ("openai", "anthropic", "google", "mistral", "azure")
FIELDS = {
    "input_mtok": "input",
    "output_mtok": "output",
    "cache_read_mtok": "cache_read",
    "cache_write_mtok": "cache_write",
    "cache_write_1h_mtok": "cache_write_1h",
}
OUT = Path(__file__).resolve().parents[1] / "src/promptctl/providers/data/prices.json"


def _num(value: Decimal) -> float:
    return float(value)


def _clause(clause: Any) -> Any:
    if isinstance(clause, types.ClauseOr):
        return {"or": [_clause(c) for c in clause.or_]}
    if isinstance(clause, types.ClauseAnd):
        return {"and": [_clause(c) for c in clause.and_]}
    for cls, attr, key in (
        (types.ClauseEquals, "equals", "eq"),
        (types.ClauseStartsWith, "starts_with", "sw"),
        (types.ClauseEndsWith, "ends_with", "ew"),
        (types.ClauseContains, "contains", "in"),
        (types.ClauseRegex, "regex", "re"),
    ):
        if isinstance(clause, cls):
            return {key: getattr(clause, attr)}
    raise TypeError(f"unknown clause {clause!r}")


def _period(start: datetime.date | None, price: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"from": start.isoformat() if start else None}
    tiers: dict[str, list[list[float]]] = {}
    for src, dst in FIELDS.items():
        value = getattr(price, src, None)
        if value is None:
            continue
        if isinstance(value, types.TieredPrices):
            out[dst] = _num(value.base)
            tiers[dst] = [[t.start, _num(t.price)] for t in value.tiers]
        else:
            out[dst] = _num(value)
    if tiers:
        out["tiers"] = tiers
    return out


def _is_embedding(model_id: str) -> bool:
    """Embedding models (`text-embedding-3-small`, `gemini-embedding-001`, …)."""
    return "embed" in model_id


def _model(model: Any) -> dict[str, Any] | None:
    periods = []
    if isinstance(model.prices, types.ModelPrice):
        periods.append(_period(None, model.prices))
    else:
        for cond in model.prices:
            if cond.constraint is not None and not isinstance(
                cond.constraint, types.StartDateConstraint
            ):
                continue  # time-of-day prices: not modelled
            start = cond.constraint.start_date if cond.constraint else None
            periods.append(_period(start, cond.prices))
    # embedding models have an input price only: they generate no tokens, output is 0
    for p in periods:
        if "input" in p and "output" not in p and _is_embedding(model.id):
            p["output"] = 0.0
    periods = [p for p in periods if "input" in p and "output" in p]
    if not periods:
        return None
    return {"id": model.id, "match": _clause(model.match), "prices": periods}


def main() -> None:
    version = importlib.metadata.version("genai-prices")
    doc: dict[str, Any] = {
        "source": f"genai-prices {version}",
        "checked": datetime.date.today().isoformat(),
        "providers": {},
        "fallbacks": {},
    }
    for provider in data.providers:
        if provider.id not in PROVIDERS:
            continue
        models = [m for m in (_model(x) for x in provider.models) if m is not None]
        if provider.id == "google":  # Vertex resells Claude; the Gemini API does not
            models = [m for m in models if not m["id"].startswith("claude")]
        doc["providers"][provider.id] = models
        fallbacks = [f for f in provider.fallback_model_providers or () if f in PROVIDERS]
        if fallbacks and provider.id != "google":  # Google's fallback is Vertex Claude
            doc["fallbacks"][provider.id] = fallbacks
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=None, separators=(",", ":"), sort_keys=True) + "\n")
    count = sum(len(v) for v in doc["providers"].values())
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {count} models, {doc['source']})")


if __name__ == "__main__":
    main()
