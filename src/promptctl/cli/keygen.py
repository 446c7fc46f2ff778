"""`promptctl keygen DIR`: write an Ed25519 key pair for signing bundles.

Inside a git work tree the private key's path must be git-ignored (`init`'s .gitignore
covers `keys/*.key`), else keygen refuses (exit 1) unless `--force`, which warns loudly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("keygen")
    def keygen(
        directory: Annotated[Path, typer.Argument(help="Where to write the two PEM files.")],
        force: Annotated[
            bool,
            typer.Option(
                "--force",
                help="Write the private key even inside a git work tree where it is not "
                "git-ignored (you then must keep it out of commits yourself).",
            ),
        ] = False,
    ) -> None:
        """Create a signing key pair: keep the private key secret, ship the public one."""
        from promptctl.bundle.key_hygiene import key_path_problem
        from promptctl.bundle.signing import PRIVATE_KEY_NAME, generate_keypair
        from promptctl.errors import RefusedError

        problem = key_path_problem(directory / PRIVATE_KEY_NAME)
        if problem is not None and not force:
            raise RefusedError(
                f"refusing to write a private key: {problem}",
                hint=f"add `{directory.as_posix().rstrip('/')}/*.key` to .gitignore, write it "
                "outside the repository, or pass --force",
            )
        private, public = generate_keypair(directory)
        if problem is not None:
            typer.echo(
                f"WARNING: {problem}. Written anyway (--force): git-ignore it or move it "
                "out before your next commit; a committed key must be replaced.",
                err=True,
            )
        typer.echo(f"private key: {private}  (mode 0600; give it to `publish --sign-key`)")
        typer.echo(f"public key:  {public}  (ship it with applications to verify bundles)")
