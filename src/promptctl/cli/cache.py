"""`promptctl cache stats|clear`: the response cache in .promptctl/cache.sqlite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from promptctl.cli._common import ProjectOption, check_choice, resolve_project

if TYPE_CHECKING:
    from promptctl.providers.cache import ResponseCache

__all__ = ["register"]

cache_app = typer.Typer(help="Inspect or clear the response cache.", no_args_is_help=True)


def _cache(project_dir: Path | None) -> ResponseCache:
    from promptctl.providers.cache import ResponseCache

    return ResponseCache(resolve_project(project_dir).cache_path)


@cache_app.command("stats")
def stats(
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    project_dir: ProjectOption = None,
) -> None:
    """Entries, size on disk and entries per target."""
    from promptctl.errors import UsageError
    from promptctl.providers.cache import CacheDamaged

    check_choice(fmt, ("table", "json"))
    cache = _cache(project_dir)
    try:
        s = cache.stats()
    except CacheDamaged as exc:
        raise UsageError(
            f"the response cache {cache.path} is damaged: {exc}",
            hint="`promptctl cache clear` removes it",
        ) from None
    finally:
        cache.close()
    if fmt == "json":
        data = {
            "path": str(s.path),
            "entries": s.entries,
            "size_bytes": s.size_bytes,
            "by_target": s.by_target,
        }
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(f"{s.path}: {s.entries} entries, {s.size_bytes / 1024:.1f} KiB")
    for target, count in s.by_target.items():
        typer.echo(f"  {target}: {count}")


@cache_app.command("clear")
def clear(project_dir: ProjectOption = None) -> None:
    """Delete every cached response (recordings under evals/recordings are kept)."""
    cache = _cache(project_dir)
    removed = cache.clear()
    cache.close()
    if removed is None:
        typer.echo(f"removed the damaged cache file {cache.path}")
    else:
        typer.echo(f"removed {removed} cached responses")


def register(app: typer.Typer) -> None:
    app.add_typer(cache_app, name="cache")
