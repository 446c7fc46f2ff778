"""`promptctl providers`: configured providers, key variables and model prices."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from promptctl.cli._common import ProjectOption, check_choice, console, resolve_project

__all__ = ["register"]


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def providers(
    match: Annotated[
        str | None, typer.Option("--match", "-m", help="Only prices of models containing TEXT.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    project: ProjectOption = None,
) -> None:
    """List configured providers, whether their key is set, and known model prices."""
    from promptctl.providers.catalog import provider_catalog

    check_choice(fmt, ("table", "json"))
    data = provider_catalog(resolve_project(project), match=match)
    if fmt == "json":
        typer.echo(json.dumps(data, indent=2))
        return
    from rich.table import Table

    out = console()
    table = Table(title="Providers", title_justify="left")
    for column in ("name", "kind", "base_url", "key variable", "key"):
        table.add_column(column)
    for p in data["providers"]:
        key = "set" if p["key_set"] else ("not set" if p["api_key_env"] else "not needed")
        table.add_row(p["name"], p["kind"], p["base_url"] or "-", p["api_key_env"] or "-", key)
    out.print(table)
    sources = sorted({p["source"] for p in data["prices"] if p["source"] != "promptctl.yaml"})
    prices = Table(
        title=f"Prices, {data['unit']} (source: {', '.join(sources) or '-'}; * promptctl.yaml)",
        title_justify="left",
    )
    for column in ("model", "input", "output", "cached in", "cache write", "1h write", "since"):
        prices.add_column(column, justify="left" if column == "model" else "right")
    for p in data["prices"]:
        mark = " *" if p["source"] == "promptctl.yaml" else ""
        prices.add_row(
            p["model"] + mark,
            _num(p["input"]),
            _num(p["output"]),
            _num(p["cached_input"]),
            _num(p["cache_write"]),
            _num(p["cache_write_1h"]),
            p["effective_from"] or "-",
        )
    out.print(prices)


def register(app: typer.Typer) -> None:
    app.command("providers")(providers)
