"""The single-file HTML report of a run or of a diff (`--html FILE`, `promptctl view`).

One file with everything inlined and no network access at all, so CI can upload it as an
artifact and anyone can open it from disk. `render_run` / `render_diff` return the page;
`write_html` writes it atomically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promptctl.evals.comparison import Comparison
from promptctl.report.html.page import page, write_html
from promptctl.report.html.payload import MessagesFor, diff_payload, run_payload

__all__ = ["MessagesFor", "render_diff", "render_run", "write_html"]


def render_run(
    doc: Mapping[str, Any],
    *,
    tags: Mapping[str, Sequence[str]] | None = None,
    messages: MessagesFor | None = None,
    history: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The page of one results document (`tags` per prompt id, `messages` per case and
    `history` from earlier runs are shown when given)."""
    run_id = (doc.get("run") or {}).get("id") or "results"
    payload = run_payload(doc, tags=tags, messages=messages, history=history)
    return page(f"promptctl run {run_id}", payload)


def render_diff(
    comparison: Comparison,
    *,
    base_doc: Mapping[str, Any] | None = None,
    head_doc: Mapping[str, Any] | None = None,
) -> str:
    """The page of a comparison: the verdict first, then what changed and why. With the
    two results documents, every test shows both sides' whole outputs."""
    from promptctl.report.diff_report import verdict_line

    line = verdict_line(comparison)
    payload = diff_payload(comparison, verdict_line=line, base_doc=base_doc, head_doc=head_doc)
    return page(line, payload)
