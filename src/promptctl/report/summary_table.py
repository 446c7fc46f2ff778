"""The terminal table of `promptctl test`, laid out for the console's width.

Numbers are never cut: rich shortens a too-wide table's cells with "…", so this module
picks the first layout whose columns fit, giving up what matters least first:

1. one line per row, the 95% interval after the pass rate;
2. the interval on a second line of the pass-rate cell (and a cost's "(+N unpriced)"
   under the cost), ids broken after `/` and
   before `@` onto more lines;
3. no interval (a note says so), ids broken;
4. no box: prompt and target share one column that folds as narrow as it must,
   two-line headers.

Widths are computed from the cell texts (rich's `cell_len`), so the choice is exact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from promptctl.report.summary import HEADERS, interval_text, summary_rows

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["Layout", "choose_layout", "summary_table"]

_NUMERIC = HEADERS[2:]
_SHORT_HEADERS = ("pass rate", "score", "tokens\nin/out", "cost", "p50", "p95", "errors")


@dataclass(frozen=True)
class Layout:
    name: str  # "inline" | "wrapped" | "no-interval" | "compact"
    interval: str  # "inline" | "wrapped" | "none"
    boxed: bool
    fold_ids: bool


LAYOUTS = (
    Layout("inline", "inline", boxed=True, fold_ids=False),
    Layout("wrapped", "wrapped", boxed=True, fold_ids=True),
    Layout("no-interval", "none", boxed=True, fold_ids=True),
    Layout("compact", "none", boxed=False, fold_ids=True),
)


def _len(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for line in text.split("\n")), default=0)


def _tokens(text: str) -> list[str]:
    """Where an id may break: after `/`, before `@` (`support/` `triage` `@1.2.0`)."""
    return [t for t in re.split(r"(?<=/)|(?=@)", text) if t]


def _wrap_id(text: str, width: int) -> str:
    """`text` on lines of at most `width` cells, broken at `_tokens` boundaries; a token
    longer than a line is cut into pieces (only ids are ever folded, never numbers)."""
    lines: list[str] = []
    line = ""
    for token in _tokens(text):
        while _len(token) > width:
            if line:
                lines.append(line)
                line = ""
            lines.append(token[:width])
            token = token[width:]
        if line and _len(line + token) > width:
            lines.append(line)
            line = ""
        line += token
    return "\n".join([*lines, line] if line else lines)


def _rows(doc: Mapping[str, Any], layout: Layout) -> list[list[str]]:
    """Rows of cells for `layout`: the ids (not yet wrapped), then the numbers."""
    out = []
    for s, row in zip(doc.get("summary", ()), summary_rows(doc, interval=False), strict=True):
        rate = row[2]
        ci = interval_text(s)
        if ci and layout.interval == "inline":
            rate = f"{rate} {ci}"
        elif ci and layout.interval == "wrapped":
            rate = f"{rate}\n{ci}"
        cost = row[5] if layout.interval == "inline" else row[5].replace(" (+", "\n(+")
        out.append([row[0], row[1], rate, row[3], row[4], cost, *row[6:]])
    return out


def _headers(layout: Layout) -> list[str]:
    if layout.boxed:
        return [*HEADERS[:2], *_NUMERIC]
    return ["prompt\ntarget", *_SHORT_HEADERS]


def _id_widths(layout: Layout, rows: Sequence[Sequence[str]], width: int) -> list[int] | None:
    """Widths of the id columns in `width` columns, or None when the layout cannot fit."""
    headers = _headers(layout)
    numbers = [max(_len(r[i]) for r in [headers[-7:], *(r[2:] for r in rows)]) for i in range(7)]
    if not layout.boxed:  # one id column, folded as narrow as it must be
        room = width - sum(numbers) - 2 * len(numbers)
        longest = max(_len(h) for h in (headers[0], *(x for r in rows for x in r[:2])))
        return [min(longest, room)] if room >= 6 else None
    room = width - sum(numbers) - (3 * (len(numbers) + 2) + 1)
    natural = [max(_len(x) for x in (headers[i], *(r[i] for r in rows))) for i in (0, 1)]
    if sum(natural) <= room:
        return natural
    if not layout.fold_ids:
        return None
    least = [
        max(_len(t) for x in (headers[i], *(r[i] for r in rows)) for t in _tokens(x))
        for i in (0, 1)
    ]
    if sum(least) > room:
        return None
    spare = room - sum(least)
    extra = [n - m for n, m in zip(natural, least, strict=True)]
    first = spare * extra[0] // max(1, sum(extra))
    return [least[0] + first, least[1] + spare - first]


def choose_layout(doc: Mapping[str, Any], width: int) -> tuple[Layout, list[int]]:
    """The first layout that fits `width` columns, with its id column widths (the
    compact layout, at its narrowest, when none does)."""
    for layout in LAYOUTS:
        widths = _id_widths(layout, _rows(doc, layout), width)
        if widths is not None:
            return layout, widths
    return LAYOUTS[-1], [6]


def summary_table(doc: Mapping[str, Any], width: int) -> tuple[Table, Layout]:
    """The rich table for `width` columns, and the layout it uses."""
    from rich.markup import escape
    from rich.table import Table

    layout, id_widths = choose_layout(doc, width)
    headers = _headers(layout)
    rows = _rows(doc, layout)
    if layout.boxed:
        table = Table(title="promptctl test", title_justify="left")
        for header, w in zip(headers[:2], id_widths, strict=True):
            table.add_column(header, width=w, no_wrap=True)
        ids = [[_wrap_id(r[0], id_widths[0]), _wrap_id(r[1], id_widths[1])] for r in rows]
    else:
        table = Table(
            title="promptctl test",
            title_justify="left",
            box=None,
            pad_edge=False,
            header_style="bold",
        )
        table.add_column(headers[0], width=id_widths[0], no_wrap=True)
        ids = [[_wrap_id(r[0], id_widths[0]) + "\n" + _wrap_id(r[1], id_widths[0])] for r in rows]
    for i, header in enumerate(headers[-7:]):
        table.add_column(
            header,
            justify="left" if i == 0 else "right",
            no_wrap=True,
            min_width=max(_len(x) for x in (header, *(r[2 + i] for r in rows))),
        )
    for id_cells, row in zip(ids, rows, strict=True):
        errors = row[-1]
        cells = [*id_cells, *row[2:-1], f"[red]{errors}[/red]" if errors != "0" else errors]
        table.add_row(*(escape(c) for c in cells[:-1]), cells[-1])
    return table, layout
