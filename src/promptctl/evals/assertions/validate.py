"""Static validation of assertion specs, for `promptctl lint` (before any model call).

Runs each checker once on a dummy output (`{}`) and reports only problems with the spec
itself (unknown type, missing value, bad regex, bad JSONPath, invalid schema, missing
python check file or function), never whether the dummy output passes. `python` checks
are imported but not called.
"""

from __future__ import annotations

from pathlib import Path

from promptctl.evals.assertions.base import REGISTRY, AssertionContext, InvalidSpec, all_options
from promptctl.evals.assertions.python_check import load_check
from promptctl.promptfile.model import AssertionSpec, Prompt

__all__ = ["spec_problem"]


def spec_problem(
    spec: AssertionSpec, *, prompt: Prompt | None = None, project_root: Path | None = None
) -> str | None:
    """A one-line description of what is wrong with `spec`, or None when it is usable."""
    if spec.type == "llm-rubric":
        rubric = spec.value if isinstance(spec.value, str) else all_options(spec).get("rubric")
        return None if isinstance(rubric, str) and rubric.strip() else "llm-rubric needs a rubric"
    checker = REGISTRY.get(spec.type)
    if checker is None:
        return f"unknown assertion type {spec.type!r}"
    root = project_root or Path.cwd()
    try:
        if spec.type == "python":
            ref = spec.value if isinstance(spec.value, str) else all_options(spec).get("value")
            if not isinstance(ref, str):
                return "python needs a value like 'evals/checks.py:polite'"
            load_check(ref, root)
        else:
            checker(
                spec,
                AssertionContext(
                    output="{}", prompt=prompt, cost_usd=0.0, latency_ms=0.0, project_root=root
                ),
            )
    except InvalidSpec as exc:
        return str(exc)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None
