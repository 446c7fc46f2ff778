"""`promptctl providers`: configured providers, key variables and model prices."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from promptctl.cli._common import ProjectOption, check_choice, console, resolve_project

__all__ = ["register"]


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


_PRICE_COLUMNS = ("model", "input", "output", "cached in", "cache write", "1h write", "since")
_ESSENTIAL = 3  # model, input, output


def _price_row(p: dict[str, Any]) -> list[str]:
    mark = {"promptctl.yaml": " *", "unknown": " ?"}.get(p["source"], "")
    return [
        p["model"] + mark,
        _num(p["input"]),
        _num(p["output"]),
        _num(p["cached_input"]),
        _num(p["cache_write"]),
        _num(p["cache_write_1h"]),
        p["effective_from"] or "-",
    ]


def _fitting_columns(rows: list[list[str]], width: int) -> tuple[str, ...]:
    """The price columns that fit `width` whole, dropping optional ones from the right."""
    needed = [
        max([len(name), *(len(r[i]) for r in rows)]) + 3 for i, name in enumerate(_PRICE_COLUMNS)
    ]
    count = len(_PRICE_COLUMNS)
    while count > _ESSENTIAL and sum(needed[:count]) + 1 > width:
        count -= 1
    return _PRICE_COLUMNS[:count]


def providers(
    match: Annotated[
        str | None,
        typer.Option(
            "--match", "-m", help="Search the whole price table for models containing TEXT."
        ),
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Every priced model, not just the project's.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    project: ProjectOption = None,
) -> None:
    """List configured providers, whether their key is set, and model prices.

    By default the prices of the models the prompts use (and the judge, and `pricing:`
    overrides); `--all` or `--match` search the whole shipped table.
    """
    from promptctl.providers.catalog import provider_catalog, used_targets

    check_choice(fmt, ("table", "json"))
    proj = resolve_project(project)
    targets = None if show_all or match is not None else used_targets(proj)
    data = provider_catalog(proj, match=match, targets=targets)
    if fmt == "json":
        typer.echo(json.dumps(data, indent=2))
        return
    from rich.table import Table

    out = console()
    table = Table(title="Providers", title_justify="left")
    for column in ("name", "kind", "base_url", "key variable", "key"):
        table.add_column(column, overflow="fold", no_wrap=column != "base_url")
    for p in data["providers"]:
        key = "set" if p["key_set"] else ("not set" if p["api_key_env"] else "not needed")
        table.add_row(p["name"], p["kind"], p["base_url"] or "-", p["api_key_env"] or "-", key)
    out.print(table)
    own = {"promptctl.yaml", "unknown"}
    sources = sorted({p["source"] for p in data["prices"] if p["source"] not in own})
    prices = Table(
        title=f"Prices, {data['unit']} (source: {', '.join(sources) or '-'}; "
        "* promptctl.yaml; ? no price known)",
        title_justify="left",
    )
    rows = [_price_row(p) for p in data["prices"]]
    columns = _fitting_columns(rows, out.width)
    longest = max((len(r[0]) for r in rows), default=5)
    # ids are never cut: optional columns go first, an id wider than the screen folds
    prices.add_column("model", min_width=min(longest, out.width - 20), overflow="fold")
    for column in columns[1:]:
        prices.add_column(column, justify="right", no_wrap=True)
    for row in rows:
        prices.add_row(*row[: len(columns)])
    out.print(prices)


def register(app: typer.Typer) -> None:
    app.command("providers")(providers)
