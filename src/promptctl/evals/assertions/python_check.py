"""`python` assertions: a function in the user's repository decides.

`value: evals/checks.py:polite` names a file (relative to the project root, and inside it)
and a function `polite(output, context)`. `context` is a plain dict: `vars`, `prompt` (id),
`test`, `cost_usd`, `latency_ms`, `cached` and `config` (the assertion's other options).
The function returns a bool, a score in [0, 1] (passing at >= 0.5 unless a `threshold` is
set), or a dict `{pass, score, reason}`. Anything it raises becomes a failed assertion
carrying the exception message; it never stops the run.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from promptctl.evals.assertions.base import (
    AssertionContext,
    Check,
    CheckCrashed,
    InvalidSpec,
    all_options,
    register,
)
from promptctl.promptfile.model import AssertionSpec
from promptctl.promptfile.safe_io import MAX_CHECK_BYTES, UnsafeFileError, checked

__all__ = ["DEFAULT_PASS_SCORE", "load_check"]

DEFAULT_PASS_SCORE = 0.5
_MODULES: dict[tuple[Path, int], ModuleType] = {}


def load_check(ref: str, root: Path) -> Callable[..., Any]:
    """Import `path.py:function` from under `root`; modules are cached per file version."""
    file_part, sep, func_name = ref.rpartition(":")
    if not sep or not file_part.endswith(".py") or not func_name.isidentifier():
        raise InvalidSpec(f"python check must look like 'evals/checks.py:name', got {ref!r}")
    try:
        path = checked(root / file_part, root=root, limit=MAX_CHECK_BYTES, what="python check")
    except UnsafeFileError as exc:
        raise InvalidSpec(f"{exc.message} ({exc.hint})") from None
    except FileNotFoundError:
        raise InvalidSpec(f"python check file not found: {file_part}") from None
    key = (path, path.stat().st_mtime_ns)
    module = _MODULES.get(key)
    if module is None:
        name = "promptctl_check_" + hashlib.sha256(str(key).encode()).hexdigest()[:12]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise InvalidSpec(f"cannot import {file_part}")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise CheckCrashed(f"importing {file_part} raised {_describe(exc)}") from exc
        _MODULES[key] = module
    func = getattr(module, func_name, None)
    if not callable(func):
        raise InvalidSpec(f"{file_part} has no function {func_name!r}")
    return cast("Callable[..., Any]", func)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _score(value: Any, ref: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise CheckCrashed(f"{ref} returned score {value!r}; expected a number in [0, 1]")
    return float(value)


def interpret(result: Any, ref: str) -> Check:
    """Turn a check function's return value into a Check (see the module docstring)."""
    if isinstance(result, bool):
        return Check(result, f"{ref} returned {result}")
    if isinstance(result, int | float):
        value = _score(result, ref)
        return Check(value >= DEFAULT_PASS_SCORE, f"{ref} returned score {value:g}", value)
    if isinstance(result, Mapping) and ("pass" in result or "score" in result):
        score: float | None = _score(result["score"], ref) if "score" in result else None
        if "pass" in result:
            passed = bool(result["pass"])
        else:
            passed = score is not None and score >= DEFAULT_PASS_SCORE
        reason = str(result.get("reason") or f"{ref} returned pass={passed}")
        return Check(passed, reason, score)
    raise CheckCrashed(
        f"{ref} returned {result!r}; expected a bool, a number in [0, 1] or "
        "{'pass': ..., 'score': ..., 'reason': ...}"
    )


@register("python")
def _python(spec: AssertionSpec, ctx: AssertionContext) -> Check:
    ref = spec.value if isinstance(spec.value, str) else all_options(spec).get("value")
    if not isinstance(ref, str):
        raise InvalidSpec("python needs a value like 'evals/checks.py:polite'")
    func = load_check(ref, ctx.project_root)
    config = {k: v for k, v in all_options(spec).items() if k != "value"}
    context = {
        "vars": dict(ctx.vars),
        "prompt": ctx.prompt.id if ctx.prompt else None,
        "test": ctx.test_name,
        "cost_usd": ctx.cost_usd,
        "latency_ms": ctx.latency_ms,
        "cached": ctx.cached,
        "config": config,
    }
    try:
        result = func(ctx.output, context)
    except Exception as exc:
        raise CheckCrashed(f"{ref} raised {_describe(exc)}") from exc
    return interpret(result, ref)
