"""`promptctl keygen DIR`: write an Ed25519 key pair for signing bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("keygen")
    def keygen(
        directory: Annotated[Path, typer.Argument(help="Where to write the two PEM files.")],
    ) -> None:
        """Create a signing key pair: keep the private key secret, ship the public one."""
        from promptctl.bundle.signing import generate_keypair

        private, public = generate_keypair(directory)
        typer.echo(f"private key: {private}  (mode 0600; give it to `publish --sign-key`)")
        typer.echo(f"public key:  {public}  (ship it with applications to verify bundles)")
