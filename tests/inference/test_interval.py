"""The Interval every interval function returns: a (low, high) NamedTuple with a width."""

from __future__ import annotations

import pytest

from ivig_kit.inference.exact import exact_unconditional_interval
from ivig_kit.inference.interval import Interval
from ivig_kit.inference.proportions import (
    clopper_pearson_interval,
    credible_interval,
    mid_p_interval,
    proportion_interval,
)
from ivig_kit.inference.two_arm import risk_difference_interval


def test_interval_unpacks_and_names_its_limits():
    interval = Interval(0.25, 0.75)
    low, high = interval
    assert (low, high) == (interval.low, interval.high) == (0.25, 0.75)
    assert interval.width == 0.5
    assert interval.scaled(100) == Interval(25.0, 75.0)
    assert interval == (0.25, 0.75)  # still a tuple for callers that compare with one


@pytest.mark.parametrize(
    "compute",
    [
        lambda: clopper_pearson_interval(8, 19),
        lambda: mid_p_interval(8, 19),
        lambda: proportion_interval(8, 19, "wilson"),
        lambda: credible_interval(8, 19),
        lambda: risk_difference_interval(37, 47, 21, 48, "newcombe"),
        lambda: exact_unconditional_interval(3, 5, 1, 5, "santner_snell"),
    ],
)
def test_every_interval_function_returns_an_interval(compute):
    interval = compute()
    assert type(interval) is Interval
    assert interval.low <= interval.high and interval.width == interval.high - interval.low
    assert all(type(limit) is float for limit in interval)
