"""The gate flags `diff` and `ci` share, declared once, and the GateConfig they build.

`GateFlags` is the one declaration; a command takes `gate_flags: GateFlags` under
`@gate_flags_option` and calls `gate_flags.config(project.gate)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Annotated, Any

import typer

from promptctl.cli._flag_sets import flag_set
from promptctl.errors import UsageError

if TYPE_CHECKING:
    from promptctl.promptfile.model import GateConfig

__all__ = [
    "AlphaOption",
    "FlakyFailsOption",
    "GateFlags",
    "MaxCostIncreaseOption",
    "MaxErrorRateOption",
    "MaxLatencyIncreaseOption",
    "MaxPassRateDropOption",
    "NewFailuresOption",
    "RequireConclusiveOption",
    "gate_config",
    "gate_flags_option",
    "gate_from_flags",
]

MaxPassRateDropOption = Annotated[
    float | None,
    typer.Option(
        help="Non-inferiority margin, 0..1: fail only on a drop significantly beyond it "
        "(promptctl.yaml gate:, else 0)."
    ),
]
MaxCostIncreaseOption = Annotated[
    str | None, typer.Option(help="Max cost-per-case increase in %, or off (gate:, else 10).")
]
MaxLatencyIncreaseOption = Annotated[
    str | None, typer.Option(help="Max p95 latency increase in %, or off (gate:, else off).")
]
AlphaOption = Annotated[float | None, typer.Option(help="Significance level (gate:, else 0.05).")]
MaxErrorRateOption = Annotated[
    float | None, typer.Option(help="Errored share above which the verdict is error.")
]
RequireConclusiveOption = Annotated[
    bool, typer.Option("--require-conclusive", help="Exit 1 on an inconclusive verdict.")
]
FlakyFailsOption = Annotated[
    bool, typer.Option("--flaky-fails", help="A flaky test that got worse fails the gate.")
]
NewFailuresOption = Annotated[
    bool | None,
    typer.Option(
        "--fail-on-new-failures/--no-fail-on-new-failures",
        help="Significant hard flips and new always-failing tests fail the gate (gate:, else on).",
    ),
]


@dataclass(frozen=True)
class GateFlags:
    """The shared gate flags, as typer parameters (None / False: not given)."""

    max_pass_rate_drop: MaxPassRateDropOption = None
    max_cost_increase: MaxCostIncreaseOption = None
    max_latency_increase: MaxLatencyIncreaseOption = None
    alpha: AlphaOption = None
    max_error_rate: MaxErrorRateOption = None
    require_conclusive: RequireConclusiveOption = False
    flaky_fails: FlakyFailsOption = False
    new_failures: NewFailuresOption = None

    def config(self, base: GateConfig) -> GateConfig:
        """These flags over `promptctl.yaml`'s gate."""
        return gate_config(
            base,
            max_pass_rate_drop=self.max_pass_rate_drop,
            max_cost_increase=self.max_cost_increase,
            max_latency_increase=self.max_latency_increase,
            alpha=self.alpha,
            max_error_rate=self.max_error_rate,
            require_conclusive=self.require_conclusive,
            flaky_fails=self.flaky_fails,
            fail_on_new_failures=self.new_failures,
        )


gate_flags_option = flag_set(GateFlags, "gate_flags")

_OFF = float("nan")  # a flag said "off": the limit becomes None


def gate_from_flags(base: GateConfig, **flags: Any) -> GateConfig:
    """`promptctl.yaml`'s gate with the flags that were given on top (None = not given)."""
    given: dict[str, Any] = {
        k: (None if v is _OFF else v) for k, v in flags.items() if v is not None
    }
    return replace(base, **given)


def gate_config(
    base: GateConfig,
    *,
    max_pass_rate_drop: float | None,
    max_cost_increase: str | None,
    max_latency_increase: str | None,
    alpha: float | None,
    max_error_rate: float | None,
    require_conclusive: bool,
    flaky_fails: bool,
    fail_on_new_failures: bool | None = None,
) -> GateConfig:
    """The gate flags (as the commands receive them) over `promptctl.yaml`'s gate."""
    return gate_from_flags(
        base,
        max_pass_rate_drop=max_pass_rate_drop,
        max_cost_increase_pct=_limit("--max-cost-increase", max_cost_increase),
        max_p95_latency_increase_pct=_limit("--max-latency-increase", max_latency_increase),
        alpha=alpha,
        max_error_rate=max_error_rate,
        require_conclusive=require_conclusive or None,
        flaky_fails=flaky_fails or None,
        fail_on_new_failures=fail_on_new_failures,
    )


def _limit(flag: str, value: str | None) -> float | None:
    if value is None:
        return None
    if value.strip().lower() in ("off", "none"):
        return _OFF
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not math.isfinite(number):  # NaN would pass every comparison: a check silently off
        raise UsageError(f"{flag} takes a percentage or 'off', got {value!r}")
    return number
