"""`promptctl bundle verify|show|diff`: inspect published bundles."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from promptctl.cli._common import console

if TYPE_CHECKING:
    from promptctl.bundle.signing import VerifiedBundle

__all__ = ["register"]

_KEY_HELP = "Ed25519 public key (PEM) to check the signature with."


def _open(path: Path, public_key: Path | None) -> tuple[Path, VerifiedBundle]:
    """The runtime's own check (`open_bundle`): verify passes exactly what load accepts.

    Returns the bundle file (a release directory's `latest`) and the verified bundle.
    """
    from promptctl.bundle.history import open_bundle
    from promptctl.errors import UsageError

    if not path.exists():
        raise UsageError(f"cannot read {path}: no such file or directory")
    return open_bundle(path, public_key=public_key)


def _load(path: Path, public_key: Path | None) -> VerifiedBundle:
    return _open(path, public_key)[1]


def _provenance(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry's provenance (an object where the bundle verified; older ones lack it)."""
    found = entry.get("provenance")
    return found if isinstance(found, dict) else {}


def _short(content_hash: str) -> str:
    return content_hash[:19]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Verify, show and compare bundles.", no_args_is_help=True)
    app.add_typer(group, name="bundle")

    @group.command("verify")
    def verify(
        file: Annotated[Path, typer.Argument(help="A *.bundle.json file or a release directory.")],
        public_key: Annotated[Path | None, typer.Option("--public-key", help=_KEY_HELP)] = None,
    ) -> None:
        """Run the checks `Runtime.load` runs; exit 2 with the reason when one fails."""
        bundle_file, result = _open(file, public_key)
        count = len(result.prompts)
        name = f"{file} (latest: {bundle_file.name})" if bundle_file != file else str(file)
        typer.echo(
            f"ok: {name}: {count} prompt(s), release {result.sequence}, "
            f"digest {result.digest}, {result.flag}"
        )

    @group.command("show")
    def show(
        file: Annotated[Path, typer.Argument(help="A *.bundle.json file.")],
        public_key: Annotated[Path | None, typer.Option("--public-key", help=_KEY_HELP)] = None,
    ) -> None:
        """List the prompts of a bundle with versions, hashes and signature state."""
        from rich.table import Table

        result = _load(file, public_key)
        manifest = result.doc["manifest"]
        out = console()
        out.print(f"bundle {file}")
        out.print(f"  digest     {result.digest}")
        out.print(f"  release    {result.sequence}")
        out.print(f"  signature  {result.flag}")
        out.print(f"  git commit {manifest.get('git_commit') or '-'}")
        if manifest.get("created_at"):
            out.print(f"  created at {manifest['created_at']}")
        table = Table("prompt", "version", "content hash", "model", "approver")
        for entry in result.doc["prompts"]:
            table.add_row(
                entry["id"],
                entry["version"],
                _short(entry["content_hash"]),
                entry["model"]["use"],
                str(_provenance(entry).get("approver") or "-"),
            )
        out.print(table)

    @group.command("diff")
    def diff(
        old: Annotated[Path, typer.Argument(help="The older bundle.")],
        new: Annotated[Path, typer.Argument(help="The newer bundle.")],
        public_key: Annotated[Path | None, typer.Option("--public-key", help=_KEY_HELP)] = None,
    ) -> None:
        """Prompts added (+), removed (-) and changed (~) between two bundles."""
        from promptctl.bundle.inspect import diff_bundles

        result = diff_bundles(_load(old, public_key).doc, _load(new, public_key).doc)
        for pid, version, content_hash in result.added:
            typer.echo(f"+ {pid}@{version} {_short(content_hash)}")
        for pid, version, content_hash in result.removed:
            typer.echo(f"- {pid}@{version} {_short(content_hash)}")
        for c in result.changed:
            typer.echo(
                f"~ {c.id} {c.old_version} -> {c.new_version} "
                f"({_short(c.old_hash)} -> {_short(c.new_hash)})"
            )
        for name in result.providers_changed:
            typer.echo(f"~ provider {name} settings changed")
        typer.echo(
            f"{len(result.added)} added, {len(result.removed)} removed, "
            f"{len(result.changed)} changed, {len(result.unchanged)} unchanged"
        )
