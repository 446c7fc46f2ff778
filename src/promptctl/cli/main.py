"""`promptctl`: composes the subcommands and turns errors into exit codes.

Each command lives in its own module exposing `register(app)`, listed in `COMMANDS`;
`promptctl CMD` imports and builds only CMD's module, and modules import their heavy
dependencies inside the command body, so start-up, `--help` and `--version` stay fast.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer

from promptctl import __version__
from promptctl.errors import EXIT_INTERRUPTED, EXIT_USAGE, PromptctlError

__all__ = ["COMMANDS", "app", "main"]

# Command name -> the module that registers it. Order here is the order in `--help`.
COMMANDS = {
    "init": "init",
    "lint": "lint",
    "render": "render",
    "list": "list_cmd",
    "schema": "schema",
    "test": "test",
    "diff": "diff",
    "compare": "compare",
    "ci": "ci",
    "report": "report_cmd",
    "view": "view",
    "merge": "merge",
    "publish": "publish",
    "keygen": "keygen",
    "bundle": "bundle",
    "costs": "costs",
    "calls": "calls",
    "providers": "providers",
    "models": "models",
    "cache": "cache",
}
COMMAND_MODULES = tuple(COMMANDS.values())

app: typer.Typer  # every command: built on first use (module `__getattr__` below)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"promptctl {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Prompts as code."""


def _new_app(modules: tuple[str, ...]) -> typer.Typer:
    """The `promptctl` group with the commands of `modules` registered."""
    group = typer.Typer(
        name="promptctl",
        help="Prompts as code: lint, render, test, diff, publish and run versioned LLM prompts.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    group.callback()(_root)
    for name in modules:
        importlib.import_module(f"promptctl.cli.{name}").register(group)
    return group


@functools.cache
def _full_app() -> typer.Typer:
    return _new_app(COMMAND_MODULES)


def __getattr__(name: str) -> Any:
    """`app`: the whole command tree (for `--help`, tests and tools), built on first use."""
    if name == "app":
        return _full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _command(name: str | None = None) -> Any:
    """The click command tree to run, built once per process per command.

    `promptctl test ...` imports and builds `test` only: every command module imported
    and every signature inspected by typer (~25 ms of CPU) is start-up the command does
    not need. Anything else (`--help`, a typo that needs "did you mean") gets all of them.
    """
    if name == "--version":
        group = _new_app(())  # prints and exits before any command is looked up
    else:
        group = _new_app((COMMANDS[name],)) if name in COMMANDS else _full_app()
    return typer.main.get_command(group)


def _invoked() -> str | None:
    """The command named on the command line (its first argument), if it is one."""
    first = sys.argv[1] if len(sys.argv) > 1 else None
    return first if first in COMMANDS or sys.argv[1:] == ["--version"] else None


def entry() -> NoReturn:
    """The `promptctl` executable (and `python -m promptctl`): `main()`, then leave
    without the interpreter's teardown.

    Freeing every object a finished command built is work nobody waits for: ~95 ms
    after a 10,000-case run, ~35 ms after a cached 1,000-case one (a tenth of it). What
    the teardown does that matters is done first, in its order: non-daemon threads
    joined (`threading._shutdown`), exit handlers run (the ledger's close, logging's
    flush), stdout and stderr flushed. Every file promptctl writes is closed where it
    is written. A traceback (a bug) leaves the usual way."""
    try:
        main()
    except SystemExit as exc:
        _leave(exc.code)
    _leave(0)


def _leave(code: object) -> NoReturn:
    import atexit
    import contextlib
    import threading

    shutdown = getattr(threading, "_shutdown", None)
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if shutdown is None or run_exit_handlers is None:  # another Python: the usual exit
        sys.exit(code)  # type: ignore[arg-type]
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # what Python does with `sys.exit("message")`
        sys.stderr.write(f"{code}\n")
        status = 1
    shutdown()
    run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`promptctl … | head`)
            stream.flush()
    os._exit(status & 0xFF)


def main() -> None:
    """Console entry point: user errors print one clear line, never a traceback.

    Everything written to the terminal passes `report.safe_text` (control characters from
    model output or files are shown escaped, never run by the terminal).
    """
    from promptctl.report.safe_text import neutral_streams

    with neutral_streams(), _rare_collections(), _sigterm_as_interrupt():
        _main()


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a cancelled CI job, a stopped container) stops a command as Ctrl-C does:
    finished cases kept in the results document, calls in flight in the ledger, exit 130.
    Python's default would end the process at once, without any of that.

    SIGTERM is passed on as a SIGINT: inside `asyncio.run` asyncio's own SIGINT handler
    then cancels the run's main task cleanly (a KeyboardInterrupt raised in the middle of
    a task would leave it half-done). That handler is only installed when SIGINT is
    Python's default, so a SIGINT the parent made us ignore (`promptctl test &` in a
    script) is Python's default again while the command runs. Handlers a caller
    installed are left alone; the previous ones are restored afterwards."""
    import signal
    import threading

    sigint = signal.getsignal(signal.SIGINT)
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        or sigint not in (signal.default_int_handler, signal.SIG_IGN)
    ):
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: signal.raise_signal(signal.SIGINT))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, sigint)


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
        os.getcwd()  # every command resolves paths against it
    except FileNotFoundError:
        sys.stderr.write(
            "error: the current directory no longer exists (it was removed or replaced "
            "since this shell entered it); cd to an existing directory\n"
        )
        sys.exit(EXIT_USAGE)
    try:
        # Without standalone mode, click *returns* the code of a `typer.Exit(code)`.
        code = _command(_invoked())(standalone_mode=False, prog_name="promptctl")
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
        see = f"see `{ctx.command_path} -h`" if ctx is not None else ""
        assigned = [a for a in sys.argv[2:] if "=" in a and not a.startswith("-")]
        if "unexpected extra argument" in text and assigned:  # `render p question=hi`
            import shlex

            flag = f"--var {shlex.quote(assigned[0])}"
            see = f"an input is given as {flag}" + (f"; {see}" if see else "")
        where = f" ({see})" if see else ""
        if text:  # empty when the help was shown instead (a group run without a command)
            sys.stderr.write(f"error: {text}{where}\n")
        sys.exit(int(getattr(exc, "exit_code", 2)))


def _print_error(exc: PromptctlError) -> None:
    sys.stderr.write(f"error: {exc}\n")
