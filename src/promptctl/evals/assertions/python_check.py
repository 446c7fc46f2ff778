"""`python` assertions: a function in the user's repository decides.

`value: evals/checks.py:polite` names a file (relative to the project root, and inside it)
and a function `polite(output, context)`. `context` is a plain dict: `vars`, `prompt` (id),
`test`, `cost_usd`, `latency_ms`, `cached`, `tool_calls` (`[{id, name, arguments,
valid, error}]`) and `config` (the assertion's other options).
The function returns a bool, a score in [0, 1] (passing at >= 0.5 unless a `threshold` is
set), or a dict `{pass, score, reason}`. It runs in a separate process (`check_host`):
anything it raises, `sys.exit`, `os._exit`, a crash or a hang becomes a failed assertion
carrying what happened; it never stops the run nor decides promptctl's exit code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

from promptctl.evals.assertions._check_child import DEFAULT_PASS_SCORE, CheckProblem
from promptctl.evals.assertions.base import (
    AssertionContext,
    Check,
    CheckCrashed,
    InvalidSpec,
    all_options,
    register,
)
from promptctl.promptfile.chat import ToolCall
from promptctl.promptfile.model import AssertionSpec
from promptctl.promptfile.safe_io import MAX_CHECK_BYTES, UnsafeFileError, checked

__all__ = ["DEFAULT_PASS_SCORE", "check_ref", "load_check"]


def _locate(ref: str, root: Path) -> tuple[Path, str, str]:
    """(absolute file, file as written, function name) of `path.py:function` under root."""
    file_part, sep, func_name = ref.rpartition(":")
    if not sep or not file_part.endswith(".py") or not func_name.isidentifier():
        raise InvalidSpec(f"python check must look like 'evals/checks.py:name', got {ref!r}")
    try:
        path = checked(root / file_part, root=root, limit=MAX_CHECK_BYTES, what="python check")
    except UnsafeFileError as exc:
        raise InvalidSpec(f"{exc.message} ({exc.hint})") from None
    except FileNotFoundError:
        raise InvalidSpec(f"python check file not found: {file_part}") from None
    return path, file_part, func_name


def _raise(problem: CheckProblem) -> NoReturn:
    if problem.kind == "invalid":
        raise InvalidSpec(str(problem)) from None
    raise CheckCrashed(str(problem)) from None


def load_check(ref: str, root: Path) -> None:
    """Check that `path.py:function` exists under `root` and imports (in the check process)."""
    from promptctl.evals.assertions.check_host import probe_check

    path, label, func = _locate(ref, root)
    try:
        probe_check(path, label, func)
    except CheckProblem as problem:
        _raise(problem)


def check_ref(spec: AssertionSpec) -> str | None:
    """The `file.py:function` a python assertion names (None when it names none)."""
    ref = spec.value if isinstance(spec.value, str) else all_options(spec).get("value")
    return ref if isinstance(ref, str) else None


@register("python")
def _python(spec: AssertionSpec, ctx: AssertionContext) -> Check:
    from promptctl.evals.assertions.check_host import call_check

    ref = check_ref(spec)
    if ref is None:
        raise InvalidSpec("python needs a value like 'evals/checks.py:polite'")
    path, label, func = _locate(ref, ctx.project_root)
    config = {k: v for k, v in all_options(spec).items() if k != "value"}
    context: dict[str, Any] = {
        "vars": dict(ctx.vars),
        "prompt": ctx.prompt.id if ctx.prompt else None,
        "test": ctx.test_name,
        "cost_usd": ctx.cost_usd,
        "latency_ms": ctx.latency_ms,
        "cached": ctx.cached,
        "tool_calls": [_call_dict(c) for c in ctx.tool_calls],
        "config": config,
    }
    try:
        reply = call_check(path, label, func, ctx.output, context)
    except CheckProblem as problem:
        _raise(problem)
    return Check(reply.passed, reply.reason, reply.score)


def _call_dict(call: ToolCall) -> dict[str, Any]:
    return {**call.to_dict(), "valid": call.arguments_valid, "error": call.arguments_error}
