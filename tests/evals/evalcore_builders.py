"""Builders for the evals tests: prompts constructed directly, no loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promptctl.evals.assertions import AssertionContext
from promptctl.promptfile.model import (
    AssertionSpec,
    ModelConfig,
    OutputSpec,
    Prompt,
    Target,
    TestCase,
)


def make_prompt(
    pid: str = "support/triage",
    *,
    tests: tuple[TestCase, ...] = (TestCase("t1"),),
    tags: tuple[str, ...] = (),
    use: str = "openai/gpt-4o-mini",
    params: dict[str, Any] | None = None,
    fallbacks: tuple[Target, ...] = (),
    schema: dict[str, Any] | None = None,
) -> Prompt:
    return Prompt(
        id=pid,
        version="1.0.0",
        path=Path(f"prompts/{pid}.yaml"),
        model=ModelConfig(use=use, params=params or {}, fallbacks=fallbacks),
        messages=(),
        tags=tags,
        output=OutputSpec(format="json" if schema else "text", schema=schema),
        tests=tests,
        content_hash="sha256:abc",
    )


def spec(type_: str, value: Any = None, **options: Any) -> AssertionSpec:
    """A long-form spec; a `not-` prefix negates, weight/threshold are keywords."""
    weight = float(options.pop("weight", 1.0))
    threshold = options.pop("threshold", None)
    return AssertionSpec(
        type=type_.removeprefix("not-"),
        value=value,
        negate=type_.startswith("not-"),
        weight=weight,
        threshold=threshold,
        options=options,
    )


def ctx(output: str, **kwargs: Any) -> AssertionContext:
    return AssertionContext(output=output, **kwargs)
