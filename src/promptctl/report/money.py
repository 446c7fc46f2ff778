"""One way to print US dollars, shared by every renderer.

LLM calls cost fractions of a cent, so a fixed `{:.4f}` prints `$0.0000` for a real
spend of $0.000035. `format_usd` keeps two to three significant digits below a dollar
and cents above it; an unknown amount (no price for the model) prints as a word, never
as `$0`.
"""

from __future__ import annotations

import math

__all__ = ["TINY_USD", "format_usd"]

TINY_USD = 1e-6  # below this (and above zero) amounts print as "<$0.000001"
_MAX_DECIMALS = 8


def format_usd(value: float | None, *, unknown: str = "unknown") -> str:
    """`$12.34`, `$1,234.50`, `$0.0123`, `$0.000035`, `$0.00`; `unknown` for None or NaN.

    Below a dollar: three significant digits, trailing zeros dropped but at least two
    decimals kept. Negative amounts (a saving, a change) carry a leading minus.
    """
    if value is None or math.isnan(value):
        return unknown
    if math.isinf(value):
        return "-$∞" if value < 0 else "$∞"
    sign = "-" if value < 0 else ""
    amount = abs(value)
    if amount == 0:
        return "$0.00"
    if amount < TINY_USD:
        return f"{sign}<${TINY_USD:.6f}"
    if amount >= 1:
        return f"{sign}${amount:,.2f}"
    decimals = min(_MAX_DECIMALS, max(2, 2 - math.floor(math.log10(amount))))
    text = f"{amount:.{decimals}f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"{sign}${whole}.{frac.ljust(2, '0')}"
