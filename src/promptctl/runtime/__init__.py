"""What applications import: load a published bundle and run its prompts.

Imports nothing of the CLI (typer, rich, gitpython, deepdiff): applications should
not pay for it.
"""

__all__: list[str] = []
