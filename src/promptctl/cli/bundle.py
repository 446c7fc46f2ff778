"""`promptctl bundle verify|show|diff`: inspect published bundles."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from promptctl.cli._common import console

if TYPE_CHECKING:
    from promptctl.bundle.signing import VerifiedBundle

__all__ = ["register"]

_KEY_HELP = "Ed25519 public key (PEM) to check the signature with."


def _load(path: Path, public_key: Path | None) -> VerifiedBundle:
    from promptctl.bundle.signing import verify_bundle
    from promptctl.errors import BundleError, UsageError
    from promptctl.promptfile.safe_io import MAX_BUNDLE_BYTES, read_file

    try:
        data = read_file(path, root=None, limit=MAX_BUNDLE_BYTES, what="bundle")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return verify_bundle(data, public_key=public_key)
    except BundleError as exc:
        raise BundleError(f"{path}: {exc.message}") from exc


def _short(content_hash: str) -> str:
    return content_hash[:19]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Verify, show and compare bundles.", no_args_is_help=True)
    app.add_typer(group, name="bundle")

    @group.command("verify")
    def verify(
        file: Annotated[Path, typer.Argument(help="A *.bundle.json file.")],
        public_key: Annotated[Path | None, typer.Option("--public-key", help=_KEY_HELP)] = None,
    ) -> None:
        """Check format, digest and signature; exit 2 with the reason when it fails."""
        result = _load(file, public_key)
        count = len(result.doc.get("prompts", []))
        typer.echo(f"ok: {file}: {count} prompt(s), digest {result.digest}, {result.flag}")

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
                entry.get("provenance", {}).get("approver") or "-",
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
