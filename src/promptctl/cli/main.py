"""`promptctl`: composes the subcommands and turns errors into exit codes.

Each command lives in its own module exposing `register(app)`; modules import their
heavy dependencies inside the command body so `--help` and `--version` stay fast.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from promptctl import __version__
from promptctl.errors import EXIT_INTERRUPTED, EXIT_USAGE, PromptctlError

__all__ = ["app", "main"]

# Order here is the order in `--help`.
COMMAND_MODULES = (
    "init",
    "lint",
    "render",
    "list_cmd",
    "schema",
    "test",
    "diff",
    "compare",
    "ci",
    "report_cmd",
    "view",
    "merge",
    "publish",
    "keygen",
    "bundle",
    "costs",
    "calls",
    "providers",
    "models",
    "cache",
)

app = typer.Typer(
    name="promptctl",
    help="Prompts as code: lint, render, test, diff, publish and run versioned LLM prompts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"promptctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Prompts as code."""


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        qualified = f"promptctl.cli.{name}"
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name == qualified:
                continue  # command not built yet
            raise
        module.register(app)


_register_commands()


@functools.cache
def _command() -> Any:
    """The click command tree `app` stands for, built once per process: typer inspects
    every command's signature to build it (~16 ms), and `main()` may run many times in
    one process (the test suite's in-process runner, tools embedding the CLI)."""
    return typer.main.get_command(app)


def main() -> None:
    """Console entry point: user errors print one clear line, never a traceback.

    Everything written to the terminal passes `report.safe_text` (control characters from
    model output or files are shown escaped, never run by the terminal).
    """
    from promptctl.report.safe_text import neutral_streams

    with neutral_streams(), _rare_collections():
        _main()


@contextmanager
def _rare_collections() -> Iterator[None]:
    """Run the cyclic garbage collector 70x less often while a command runs.

    A command allocates mostly objects that live until it ends (modules imported on
    demand, the loaded prompts, one result per case): with the default threshold (700
    allocations) a cached `promptctl test` of 1,000 cases ran ~220 collections that
    freed next to nothing, ~45 ms of its 0.68 s of CPU. Restored afterwards, so a
    process that calls `main()` (the tests) keeps its own setting.
    """
    import gc

    old = gc.get_threshold()
    gc.set_threshold(max(old[0], 50_000), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _main() -> None:
    try:
        # Without standalone mode, click *returns* the code of a `typer.Exit(code)`.
        code = _command()(standalone_mode=False, prog_name="promptctl")
        if isinstance(code, int) and code:
            sys.exit(code)
    except PromptctlError as exc:
        _print_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(EXIT_INTERRUPTED)
    except OSError as exc:
        # Safety net: a file the user named that cannot be read or written. Commands
        # should raise a PromptctlError themselves; this keeps a missed case to one line.
        if exc.filename is None:
            raise
        sys.stderr.write(f"error: {exc.filename}: {exc.strerror}\n")
        sys.exit(EXIT_USAGE)
    except Exception as exc:
        # typer vendors click; its errors (bad flag, missing option, unreadable file
        # argument) carry `format_message()` and `exit_code`. One line like ours, plus
        # where to find the usage, instead of click's three-line block.
        message = getattr(exc, "format_message", None)
        if not callable(message):
            raise
        text = str(message())
        if type(exc).__name__ == "NoArgsIsHelpError":  # a group run without a command
            sys.stdout.write(text + "\n")
            sys.exit(EXIT_USAGE)
        ctx = getattr(exc, "ctx", None)
        where = f" (see `{ctx.command_path} -h`)" if ctx is not None else ""
        if text:  # empty when the help was shown instead (a group run without a command)
            sys.stderr.write(f"error: {text}{where}\n")
        sys.exit(int(getattr(exc, "exit_code", 2)))


def _print_error(exc: PromptctlError) -> None:
    sys.stderr.write(f"error: {exc}\n")
