"""Model lifecycles: when a model is deprecated, when it shuts down, what replaces it.

Vendors retire models on published dates and calls fail afterwards; teams should learn
that from `promptctl lint`, not from production. The shipped table
(`data/lifecycle.json`, reviewed by hand, refreshed as `tools/refresh_lifecycle.py`
describes) is keyed by the price table's vendor id (openai, anthropic, google), so a
provider named `prod-openai` of kind openai finds OpenAI's rows; Azure and
openai-compatible providers have their own schedules and only get rows from
`lifecycle:` in promptctl.yaml, which adds or overrides rows per `provider/model`.

"Today" is the UTC clock's date, or `PROMPTCTL_TODAY=YYYY-MM-DD` so tests and
reproducible CI runs can fix it.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from promptctl.errors import ConfigError
from promptctl.promptfile.model import DEFAULT_PROVIDERS, LifecycleRow, Project, ProviderSettings

__all__ = [
    "DEFAULT_WARN_DAYS",
    "TODAY_ENV",
    "Lifecycle",
    "State",
    "describe",
    "lifecycle_for",
    "status",
    "today",
    "warn_retiring",
]

TODAY_ENV = "PROMPTCTL_TODAY"
DEFAULT_WARN_DAYS = 90
log = logging.getLogger("promptctl.providers")

State = Literal["active", "deprecated", "retiring", "retired", "unknown"]


@dataclass(frozen=True)
class Lifecycle:
    """One model's row; `replacement` is a full `provider/model` target when known."""

    target: str
    deprecated: datetime.date | None
    shutdown: datetime.date | None
    replacement: str | None
    source: str
    checked: str
    note: str = ""

    def state(self, day: datetime.date, warn_days: int = DEFAULT_WARN_DAYS) -> State:
        """retired on/after shutdown; retiring within `warn_days` of it; else deprecated/active."""
        if self.shutdown is not None:
            if day >= self.shutdown:
                return "retired"
            if (self.shutdown - day).days <= warn_days:
                return "retiring"
        if self.deprecated is not None and day >= self.deprecated:
            return "deprecated"
        return "active"

    def days_left(self, day: datetime.date) -> int | None:
        return None if self.shutdown is None else (self.shutdown - day).days


def today(env: Mapping[str, str] | None = None) -> datetime.date:
    """`PROMPTCTL_TODAY` if set (a clear ConfigError when malformed), else the UTC date."""
    raw = (env if env is not None else os.environ).get(TODAY_ENV, "").strip()
    if not raw:
        return datetime.datetime.now(datetime.UTC).date()
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise ConfigError(
            f"{TODAY_ENV}={raw!r} is not a date", hint="use YYYY-MM-DD, e.g. 2026-12-01"
        ) from None


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, dict[str, Any]]]:
    """vendor -> model id or alias -> row."""
    text = resources.files("promptctl.providers").joinpath("data/lifecycle.json").read_text()
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for row in json.loads(text)["models"]:
        by_id = out.setdefault(row["vendor"], {})
        for name in (row["model"], *row["aliases"]):
            by_id[name] = row
    return out


def _date(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


def _vendor(settings: ProviderSettings | None, provider: str) -> str | None:
    if settings is None:
        return provider if provider in ("openai", "anthropic", "google") else None
    vendors = {"openai": "openai", "openai-responses": "openai", "anthropic": "anthropic"}
    return {**vendors, "gemini": "google"}.get(settings.kind)


def lifecycle_for(target: str, project: Project | None = None) -> Lifecycle | None:
    """The row for `provider/model`: promptctl.yaml's `lifecycle:` first, then the table."""
    if project is not None and target in project.lifecycle.models:
        return _from_config(target, project.lifecycle.models[target])
    provider, _, model = target.partition("/")
    providers = project.providers if project is not None else DEFAULT_PROVIDERS
    vendor = _vendor(providers.get(provider), provider)
    if vendor is None:
        return None
    row = _table().get(vendor, {}).get(model.removeprefix("models/"))
    if row is None:
        return None
    replacement = row["replacement"]
    return Lifecycle(
        target=target,
        deprecated=_date(row["deprecated"]),
        shutdown=_date(row["shutdown"]),
        replacement=f"{provider}/{replacement}" if replacement else None,
        source=row["source"],
        checked=row["checked"],
        note=row.get("note", ""),
    )


def _from_config(target: str, row: LifecycleRow) -> Lifecycle:
    return Lifecycle(
        target=target,
        deprecated=row.deprecated,
        shutdown=row.shutdown,
        replacement=row.replacement,
        source=row.source or "promptctl.yaml",
        checked="promptctl.yaml",
        note=row.note,
    )


def status(
    target: str, project: Project | None, day: datetime.date
) -> tuple[State, Lifecycle | None]:
    """The target's state today, with its row (`unknown` when there is none)."""
    row = lifecycle_for(target, project)
    if row is None:
        return "unknown", None
    warn_days = project.lifecycle.warn_days if project is not None else DEFAULT_WARN_DAYS
    return row.state(day, warn_days), row


def describe(row: Lifecycle, day: datetime.date) -> str:
    """`shuts down on 2027-01-22 (in 48 days); replacement anthropic/claude-opus-5-5`."""
    assert row.shutdown is not None
    left = (row.shutdown - day).days
    if left < 0:
        when = f"shut down on {row.shutdown} ({-left} days ago)"
    elif left == 0:
        when = f"shuts down today ({row.shutdown})"
    else:
        when = f"shuts down on {row.shutdown} (in {left} days)"
    tail = f"; replacement {row.replacement}" if row.replacement else ""
    return f"{row.target} {when}{tail}"


_warned: set[str] = set()


def warn_retiring(
    targets: Iterable[str], project: Project | None, env: Mapping[str, str] | None = None
) -> list[str]:
    """Log one warning per model (per process) that is retired or retiring; return them."""
    day = today(env)
    out = []
    for target in dict.fromkeys(targets):
        state, row = status(target, project, day)
        if row is None or state not in ("retired", "retiring") or target in _warned:
            continue
        _warned.add(target)
        text = describe(row, day)
        out.append(text)
        log.warning("model lifecycle: %s (source: %s)", text, row.source)
    return out
