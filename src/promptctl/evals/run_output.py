"""Where a run's document goes: checks of the run file, `--output` and `--junit` paths.

Split from the runner because file handling has its own failure mode: an unusable path
is refused before any money is spent (`check_writable`), and a write that fails at the
end is a one-line usage error, not a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from promptctl.errors import UsageError
from promptctl.evals.options import EvalOptions

__all__ = ["check_outputs", "check_writable", "write_junit"]


def check_outputs(options: EvalOptions) -> None:
    """Refuse an unusable --output/--junit before any money is spent."""
    check_writable(options.output)
    check_writable(options.junit)
    if options.junit is not None and options.junit_renderer is None:
        raise UsageError(
            "a JUnit path needs a renderer",
            hint="pass junit_renderer=promptctl.report.junit.to_junit_xml in EvalOptions",
        )


def check_writable(path: Path | None) -> None:
    """Refuse an unusable output path before any money is spent."""
    if path is None:
        return
    if path.is_dir():
        raise UsageError(f"{path} is a directory", hint="give a file name, e.g. results.json")
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:  # mkdir would say only "File exists"
        raise UsageError(f"cannot write {path}: {blocker} is a file, not a directory")
    _guarded(path, lambda: path.parent.mkdir(parents=True, exist_ok=True))


def write_junit(options: EvalOptions, doc: dict[str, Any]) -> None:
    """`--junit`: the document rendered by `options.junit_renderer`."""
    if options.junit is None or options.junit_renderer is None:
        return
    junit, render = options.junit, options.junit_renderer
    _guarded(junit, lambda: junit.write_text(render(doc), encoding="utf-8"))


def _guarded(path: Path, step: Callable[[], object]) -> None:
    try:
        step()
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
