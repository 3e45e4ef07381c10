"""Numbers as a person writes them, in the teaching tools: no exponent, thousands separated, ranges
as ``0-10 cm``."""

from __future__ import annotations


def plain_number(value: float, decimals: int = 3) -> str:
    """A number as a person writes it: no exponent, thousands separated, no trailing zeros.

    >>> plain_number(1_000_000), plain_number(0.125), plain_number(2.0)
    ('1,000,000', '0.125', '2')
    """
    if value != value:
        return "n/a"
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def range_text(low: float, high: float, unit: str = "") -> str:
    """``0-10 cm``; ``-10 to 50`` when the low end is negative."""
    return f"{plain_number(low)}{' to ' if low < 0 else '-'}{plain_number(high)}{' ' + unit if unit else ''}"
