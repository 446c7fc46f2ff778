"""Join shard results (`promptctl test --shard I/N`) into one results document."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from promptctl.errors import UsageError
from promptctl.evals.results import SCHEMA_ID, read_results, summary_rows

__all__ = ["merge_documents", "merge_files"]


def merge_files(paths: Sequence[Path]) -> dict[str, Any]:
    """Load and merge; a duplicate case key is an error naming both files."""
    if not paths:
        raise UsageError("merge needs at least one results file")
    return merge_documents([(str(p), read_results(p)) for p in paths])


def merge_documents(docs: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """(source name, document) pairs -> one document.

    The summary is recomputed from the joined cases by the same code `promptctl test`
    uses, so a merged document's summary is exactly what one unsharded run would write.
    """
    seen: dict[str, str] = {}
    cases: list[dict[str, Any]] = []
    for source, doc in docs:
        for case in doc["cases"]:
            key = str(case["key"])
            if key in seen:
                raise UsageError(
                    f"duplicate case {key!r} in {seen[key]} and {source}",
                    hint="merge each shard once; shards of one run never share a case",
                )
            seen[key] = source
            cases.append(case)
    return {
        "schema": SCHEMA_ID,
        "run": _merge_runs([doc.get("run") or {} for _, doc in docs]),
        "cases": cases,
        "summary": summary_rows(cases),
    }


def _merge_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def same(field: str, default: Any) -> Any:
        values = {r.get(field) for r in runs}
        return values.pop() if len(values) == 1 else default

    started = [r["started_at"] for r in runs if r.get("started_at")]
    finished = [r.get("finished_at") for r in runs]
    return {
        "id": "+".join(str(r.get("id", "?")) for r in runs),
        "started_at": min(started) if started else None,
        "finished_at": max(f for f in finished if f) if all(finished) else None,
        "promptctl_version": same("promptctl_version", None),
        "git_commit": same("git_commit", None),
        "mode": same("mode", "auto"),
        "interrupted": any(bool(r.get("interrupted")) for r in runs),
        "shard": None,
        "skipped_budget": sum(int(r.get("skipped_budget") or 0) for r in runs),
    }
