"""Read the ledger and sum it up: totals, groups (top spenders first), cache savings.

Unknown costs (a model with no known price) are counted apart, never as $0: a report
that silently under-counts is worse than one that says "12 calls of unknown cost". A call
that failed (outcome "error") cost nothing: it counts as an error, not as unknown cost.
Cache savings come from `cost_saved_usd` when the caller stored it; otherwise they are
estimated from the `pricing:` table (USD per million tokens): a response-cache hit
saves its full price, a prompt-cache read saves `cached_input_tokens x (input -
cached_input)`. Without a price the saving is counted as unknown.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from promptctl.errors import ConfigError, UsageError
from promptctl.ledger.row_types import check_pg_rows, check_rows, tags_of
from promptctl.ledger.store import connect
from promptctl.promptfile.model import PriceOverride

__all__ = [
    "GROUP_BY",
    "Bucket",
    "CostReport",
    "LedgerRow",
    "build_report",
    "group_keys",
    "iso_utc",
    "parse_since",
    "read_rows",
    "unknown_cost",
]

GROUP_BY = ("prompt", "model", "provider", "tag", "day", "source")

_FIELDS = (
    "ts, source, prompt_id, prompt_version, tags, provider, target, outcome, input_tokens, "
    "cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_usd, "
    "cost_saved_usd, latency_ms, cache_write_1h_tokens, error_kind, usage_known"
)


@dataclass(frozen=True)
class LedgerRow:
    ts: float
    source: str
    prompt_id: str | None
    prompt_version: str | None
    tags: tuple[str, ...]
    provider: str
    target: str
    outcome: str
    input_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cost_usd: float | None
    cost_saved_usd: float | None
    latency_ms: float | None
    cache_write_1h_tokens: int = 0  # a subset of cache_write_tokens (m002)
    error_kind: str | None = None
    usage_known: bool = True  # m003: False for unreadable usage and cancelled calls


# Failed calls that may still have been billed: cancelled in flight (Ctrl-C, a caller
# closing a stream early) or a stream broken after its first token.
INTERRUPTED_KINDS = frozenset({"cancelled", "stream_interrupted"})


def unknown_cost(row: LedgerRow) -> bool:
    """A call that may have been billed but whose cost is unknown: a successful, uncached
    call without a price or with unreadable usage, or one interrupted in flight (Ctrl-C,
    a stream stopped early or broken). Any other failed call cost nothing."""
    return row.cost_usd is None and (row.outcome == "ok" or row.error_kind in INTERRUPTED_KINDS)


def unknown_cost_reason(row: LedgerRow) -> str:
    """Why `unknown_cost(row)`: "cancelled" (interrupted in flight, streams included),
    "usage" (unreadable) or "price" (none known)."""
    if row.error_kind in INTERRUPTED_KINDS:
        return "cancelled"
    return "price" if row.usage_known else "usage"


@dataclass
class Bucket:
    """Sums over a set of calls. `cost_usd` is over the calls whose cost is known.

    `unknown_cost_calls` are successful, uncached calls whose model has no price; failed
    calls (`errors`) cost nothing and are never unknown. `cost_per_call` is over the
    priced calls (answered or cached, not failed), None when there are none.

    `cache_write_tokens` counts every prompt-cache write, one-hour ones included;
    `cache_write_1h_tokens` says how many of them had the one-hour TTL.
    """

    key: str
    calls: int = 0
    errors: int = 0
    cost_usd: float = 0.0
    unknown_cost_calls: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    saved_usd: float = 0.0
    unknown_savings_calls: int = 0
    # Last, so the CSV columns that existed before keep their positions.
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0

    @property
    def priced_calls(self) -> int:
        """Calls whose cost is known and real: neither failed nor of unknown price."""
        return self.calls - self.errors - self.unknown_cost_calls

    @property
    def cost_known(self) -> bool:
        """False when some call's cost is unknown and no call's is known (not $0)."""
        return self.priced_calls > 0 or self.unknown_cost_calls == 0

    @property
    def cost_per_call(self) -> float | None:
        known = self.priced_calls
        return self.cost_usd / known if known else None

    def add(self, row: LedgerRow, saved: float | None) -> None:
        self.calls += 1
        self.errors += row.outcome == "error"
        if unknown_cost(row):
            self.unknown_cost_calls += 1
        else:
            self.cost_usd += row.cost_usd or 0.0
        self.input_tokens += row.input_tokens
        self.cached_input_tokens += row.cached_input_tokens
        # 1h writes are part of the writes; max() guards rows where a writer did not fold them in.
        self.cache_write_tokens += max(row.cache_write_tokens, row.cache_write_1h_tokens)
        self.cache_write_1h_tokens += row.cache_write_1h_tokens
        self.output_tokens += row.output_tokens
        self.reasoning_tokens += row.reasoning_tokens
        if saved is None:
            self.unknown_savings_calls += 1
        else:
            self.saved_usd += saved

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cost_per_call": self.cost_per_call}


@dataclass
class CostReport:
    by: str
    since: float | None
    total: Bucket
    groups: list[Bucket] = field(default_factory=list)  # most expensive first
    unpriced_models: list[str] = field(default_factory=list)  # answered without a price
    unreadable_usage_models: list[str] = field(default_factory=list)  # priced, usage unreadable
    cancelled_calls: int = 0  # in flight when cancelled (Ctrl-C): maybe billed, cost unknown


def read_rows(path: Path | str, *, since: float | None = None) -> list[LedgerRow]:
    """Rows at or after `since` (epoch seconds), oldest first; the ledger is opened read-only.

    `path` is a SQLite file or a `postgresql://` URL (the fleet's ledger): one query for
    both. Read-only means no migrations run: a ledger last written before m002 has no
    `cache_write_1h_tokens` column, which then reads as 0. A file that is not a ledger is
    a ConfigError (exit 2).
    """
    from promptctl.ledger.postgres import is_pg_url

    if is_pg_url(path):
        return _read_pg_rows(str(path), since)
    path = Path(path)
    db = connect(path, readonly=True)
    try:
        columns = {row[1] for row in db.execute("PRAGMA table_info(calls)")}
        query, args = _rows_query(columns, since, "?", str(path))
        check_rows(db, str(path))
        return [_row(r, str(path)) for r in db.execute(query, args)]
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"cannot read ledger {path}: {exc}") from None
    finally:
        db.close()


def _read_pg_rows(url: str, since: float | None) -> list[LedgerRow]:
    from promptctl.ledger.postgres import pg_connect, redact_url

    db = pg_connect(url, migrate=False)
    try:
        found = db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'calls'"
            " AND table_schema = current_schema()"
        )
        columns = {row[0] for row in found}
        query, args = _rows_query(columns, since, "%s", redact_url(url))
        check_pg_rows(db, columns, redact_url(url))
        return [_row(r, redact_url(url)) for r in db.execute(query, args)]
    except Exception as exc:  # psycopg.Error, imported lazily
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"cannot read ledger {redact_url(url)}: {exc}") from None
    finally:
        db.close()


def _rows_query(
    columns: set[str], since: float | None, mark: str, where: str
) -> tuple[str, tuple[float, ...]]:
    """The one query of `read_rows`, for the columns the ledger has (older ledgers lack some)."""
    if not columns:
        raise ConfigError(f"{where} is not a promptctl ledger (no `calls` table)")
    fields = _FIELDS
    if "cache_write_1h_tokens" not in columns:
        fields = fields.replace("cache_write_1h_tokens", "0")
    if "usage_known" not in columns:  # written before m003
        fields = fields.replace("usage_known", "1")
    query = f"SELECT {fields} FROM calls"
    args: tuple[float, ...] = ()
    if since is not None:
        query, args = query + f" WHERE ts >= {mark}", (since,)
    return query + " ORDER BY ts", args


def build_report(
    rows: Iterable[LedgerRow],
    *,
    by: str = "prompt",
    since: float | None = None,
    prices: Mapping[str, PriceOverride] | None = None,
) -> CostReport:
    if by not in GROUP_BY:
        raise UsageError(f"cannot group by {by!r}; choose one of {', '.join(GROUP_BY)}")
    total = Bucket("total")
    groups: dict[str, Bucket] = {}
    unknown: dict[str, dict[str, None]] = {"price": {}, "usage": {}, "cancelled": {}}
    cancelled = 0
    for row in rows:
        saved = _saving(row, (prices or {}).get(row.target))
        total.add(row, saved)
        if unknown_cost(row):
            reason = unknown_cost_reason(row)
            unknown[reason][row.target] = None
            cancelled += reason == "cancelled"
        for key in group_keys(row, by):
            groups.setdefault(key, Bucket(key)).add(row, saved)
    ordered = sorted(groups.values(), key=lambda b: (-b.cost_usd, -b.unknown_cost_calls, b.key))
    return CostReport(
        by=by,
        since=since,
        total=total,
        groups=ordered,
        unpriced_models=sorted(unknown["price"]),
        unreadable_usage_models=sorted(unknown["usage"]),
        cancelled_calls=cancelled,
    )


def parse_since(text: str, *, now: datetime | None = None) -> float:
    """`7d`, `24h`, `30m`, `2w` before now, or a date / ISO time (UTC unless it says)."""
    now = now or datetime.now(UTC)
    match = re.fullmatch(r"(\d+)([mhdw])", text.strip())
    if match:
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match.group(2)]
        try:
            return (now - timedelta(**{unit: int(match.group(1))})).timestamp()
        except (OverflowError, ValueError):  # before year 1 (or 5,000 digits): everything
            return 0.0
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise UsageError(
            f"--since {text!r} is neither a duration (7d, 24h, 30m, 2w) nor a date (2026-11-01)"
        ) from exc
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def iso_utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def group_keys(row: LedgerRow, by: str) -> Sequence[str]:
    """The group(s) a row counts under for `--by` (a call counts under each of its tags)."""
    if by == "tag":
        return row.tags or ("(untagged)",)
    if by == "day":
        return (datetime.fromtimestamp(row.ts, tz=UTC).strftime("%Y-%m-%d"),)
    value = {
        "prompt": row.prompt_id,
        "model": row.target,
        "provider": row.provider,
        "source": row.source,
    }[by]
    return (value or "(none)",)


def _saving(row: LedgerRow, price: PriceOverride | None) -> float | None:
    if row.cost_saved_usd is not None:
        return row.cost_saved_usd
    if row.outcome == "error":
        return 0.0
    if row.outcome != "cached" and row.cached_input_tokens == 0:
        return 0.0
    if price is None:
        return None
    if row.outcome == "cached":
        return (row.input_tokens * price.input + row.output_tokens * price.output) / 1e6
    if price.cached_input is None:
        return None
    return row.cached_input_tokens * (price.input - price.cached_input) / 1e6


def _row(r: tuple[Any, ...], where: str) -> LedgerRow:
    values = (*r[:4], tags_of(r[4], where), *r[5:-1], bool(r[-1]))
    return LedgerRow(*values)
