import math

import pytest

from promptctl.report.money import format_usd


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "unknown"),
        (math.nan, "unknown"),
        (0.0, "$0.00"),
        (3.5e-05, "$0.000035"),
        (3.512e-05, "$0.0000351"),
        (0.0123, "$0.0123"),
        (0.1, "$0.10"),
        (0.5, "$0.50"),
        (0.999, "$0.999"),
        (0.99999, "$1.00"),
        (1.0, "$1.00"),
        (12.34, "$12.34"),
        (1234.5, "$1,234.50"),
        (1e-9, "<$0.000001"),
        (-0.0123, "-$0.0123"),
        (-12.5, "-$12.50"),
    ],
)
def test_format_usd(value: float | None, expected: str) -> None:
    assert format_usd(value) == expected


def test_format_usd_custom_unknown_word() -> None:
    assert format_usd(None, unknown="–") == "–"
    assert format_usd(0.25, unknown="–") == "$0.25"
