"""What every assertion receives and returns, and the registry of assertion types.

A checker is a plain function `(spec, ctx) -> Check` that reports the *un-negated* truth
with a factual reason; `run_assertion` then applies `not-`, `threshold` and `weight`
uniformly, so no checker has to know about them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from promptctl.promptfile import strict_json
from promptctl.promptfile.chat import ToolCall
from promptctl.promptfile.model import AssertionSpec, Prompt

__all__ = [
    "REGISTRY",
    "AssertionContext",
    "AssertionResult",
    "Check",
    "CheckCrashed",
    "Checker",
    "InvalidSpec",
    "NotChecked",
    "ParsedJson",
    "all_options",
    "number_option",
    "option",
    "quote",
    "register",
    "run_assertion",
]

_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n(.*?)\n?```$", re.DOTALL)


@dataclass(frozen=True)
class ParsedJson:
    """The output parsed as JSON: `ok` with `value`, or not `ok` with `error`."""

    ok: bool
    value: Any = None
    error: str = ""


@dataclass
class AssertionContext:
    """Everything an assertion may look at for one case.

    `latency_ms` of a `cached` response is not a real measurement (see the latency check).
    `project_root` resolves `python` check paths. `json` is parsed lazily, once.
    """

    output: str
    vars: Mapping[str, Any] = field(default_factory=dict)
    prompt: Prompt | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None  # streamed cases only: time to the first token
    cached: bool = False
    usage_known: bool = True  # False: the cost is unknown for lack of usage, not of a price
    project_root: Path = field(default_factory=Path.cwd)
    test_name: str = ""
    tool_calls: tuple[ToolCall, ...] = ()  # every call of the case, in order

    @cached_property
    def json(self) -> ParsedJson:
        """The output as JSON; a single surrounding Markdown code fence is tolerated."""
        text = self.output.strip()
        fenced = _FENCE.match(text)
        if fenced:
            text = fenced.group(1).strip()
        try:  # JSON as JSON defines it: `NaN` is not valid JSON, though Python reads it
            return ParsedJson(True, strict_json.loads(text))
        except ValueError as exc:
            return ParsedJson(False, error=strict_json.reason(exc))
        except RecursionError:
            return ParsedJson(False, error="nested too deeply to read")


@dataclass(frozen=True, slots=True)
class AssertionResult:
    """One assertion's verdict as stored in the results document (`pass` in JSON)."""

    type: str
    passed: bool
    score: float
    weight: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "pass": self.passed,
            "score": self.score,
            "weight": self.weight,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AssertionResult:
        return cls(
            str(data["type"]),
            bool(data["pass"]),
            float(data["score"]),
            float(data.get("weight", 1.0)),
            str(data.get("reason", "")),
        )


@dataclass(frozen=True, slots=True)
class Check:
    """A checker's raw verdict, before negation and threshold."""

    passed: bool
    reason: str
    score: float | None = None  # None: 1.0 when passed, 0.0 otherwise
    neutral: bool = False  # not judged (e.g. cached latency): exempt from not-/threshold

    @property
    def effective_score(self) -> float:
        if self.score is None:
            return 1.0 if self.passed else 0.0
        return self.score


class InvalidSpec(Exception):
    """Raised by a checker when the assertion itself is malformed (not the output).

    The result is a failure that `not-` does not flip: a broken check proves nothing.
    """

    prefix = "invalid assertion"


class CheckCrashed(InvalidSpec):
    """A user's check function raised or returned something unusable."""

    prefix = "check failed to run"


class NotChecked(InvalidSpec):
    """The check cannot run on this output (too long to compare): a failure that `not-`
    does not flip either."""

    prefix = "not checked"


Checker = Callable[[AssertionSpec, AssertionContext], Check]
REGISTRY: dict[str, Checker] = {}


def register(name: str) -> Callable[[Checker], Checker]:
    def deco(fn: Checker) -> Checker:
        REGISTRY[name] = fn
        return fn

    return deco


def all_options(spec: AssertionSpec) -> dict[str, Any]:
    """Long-form options merged over a mapping given as the short form's value."""
    base = dict(spec.value) if isinstance(spec.value, Mapping) else {}
    return {**base, **spec.options}


def option(spec: AssertionSpec, name: str, default: Any = None) -> Any:
    """An option from the long form, or from a mapping given as the short form's value."""
    if name in spec.options:
        return spec.options[name]
    if isinstance(spec.value, Mapping) and name in spec.value:
        return spec.value[name]
    return default


def number_option(spec: AssertionSpec, name: str, default: Any = None) -> float | None:
    """A numeric option (see `option`); None when absent, InvalidSpec when not a number."""
    value: Any = option(spec, name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSpec(f"{spec.type}: {name} must be a number, got {quote(value)}")
    return float(value)


def quote(value: Any, limit: int = 80) -> str:
    """A short repr for reasons: strings quoted, long values trimmed."""
    if isinstance(value, str):
        text = repr(value)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_assertion(spec: AssertionSpec, ctx: AssertionContext) -> AssertionResult:
    """Run a synchronous assertion (any type but llm-rubric) and apply not-/threshold.

    An unknown type or a malformed spec yields a failed result with a clear reason
    (negation does not turn an invalid assertion into a pass).
    """
    if spec.type == "llm-rubric":
        return invalid_result(spec, "llm-rubric needs a judge: score it with evaluate_test")
    checker = REGISTRY.get(spec.type)
    if checker is None:
        known = ", ".join(sorted(REGISTRY))
        return invalid_result(spec, f"unknown assertion type {spec.type!r} (known: {known})")
    try:
        check = checker(spec, ctx)
    except InvalidSpec as exc:
        return invalid_result(spec, str(exc), exc.prefix)
    except Exception as exc:  # a value shape no checker foresaw must not stop the run
        return invalid_result(spec, f"{type(exc).__name__}: {exc}", "assertion crashed")
    return finish(spec, check)


def display_type(spec: AssertionSpec) -> str:
    return f"not-{spec.type}" if spec.negate else spec.type


def invalid_result(
    spec: AssertionSpec, message: str, prefix: str = InvalidSpec.prefix
) -> AssertionResult:
    return AssertionResult(display_type(spec), False, 0.0, spec.weight, f"{prefix}: {message}")


def finish(spec: AssertionSpec, check: Check) -> AssertionResult:
    """Apply negation (flip pass, score -> 1 - score), then `threshold` (pass = score >= t)."""
    passed, score, reason = check.passed, check.effective_score, check.reason
    if check.neutral:
        return AssertionResult(display_type(spec), passed, score, spec.weight, reason)
    if spec.negate:
        state = "passed" if passed else "failed"
        reason = f"not-{spec.type}: the check {state} ({reason})"
        passed, score = not passed, 1.0 - score
    if spec.threshold is not None:
        passed = score >= spec.threshold
        reason = f"{reason}; score {score:.3g} {'>=' if passed else '<'} {spec.threshold:g}"
    return AssertionResult(display_type(spec), passed, score, spec.weight, reason)
