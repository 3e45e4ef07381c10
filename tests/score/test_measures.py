"""Instrument facts and the enzyme option (ivig_kit.score.measures): one home per fact, checked against the
hand-typed reference; impossible options refused."""

import numpy as np
import pytest
from exact_reference import JDM_INSTRUMENTS

from ivig_kit.errors import InputError
from ivig_kit.score.core_set_instruments import CORE_SETS, INSTRUMENTS, instrument_for
from ivig_kit.score.measures import CORE_SET, MICRO, ULN_MULTIPLIER_MAX, EnzymeNormalisation, to_micro


def test_scoring_table_rows_sum_to_100():
    assert sum(m.max_points for m in CORE_SET.values()) == 100


def test_instrument_facts_have_one_home_and_a_source():
    assert (INSTRUMENTS["cmas"].scale_min, INSTRUMENTS["cmas"].scale_max, INSTRUMENTS["cmas"].improves_by) == (
        0,
        52,
        "increase",
    )
    assert INSTRUMENTS["chaq"].fixed_range == 3 and INSTRUMENTS["chaq"].improves_by == "decrease"
    assert INSTRUMENTS["das"].fixed_range == 20 and INSTRUMENTS["das"].improves_by == "decrease"
    assert INSTRUMENTS["parent_global"].fixed_range == 10
    # no fixed range could be sourced for the CHQ physical summary: it is an explicit input
    assert INSTRUMENTS["chq_phs"].fixed_range is None
    assert INSTRUMENTS["chq_phs"].range_columns == ("chq_phs_min", "chq_phs_max")
    assert all(i.source for i in INSTRUMENTS.values())
    for name, (row, increases) in JDM_INSTRUMENTS.items():  # the reference, typed by hand, agrees
        assert INSTRUMENTS[name].measure == row and (INSTRUMENTS[name].improves_by == "increase") == increases
        assert name in CORE_SET[row].instruments


@pytest.mark.parametrize("k", [float("inf"), float("nan"), 0.0, -3.0, ULN_MULTIPLIER_MAX * 1.001, "ten"])
def test_impossible_multipliers_are_refused(k):
    with pytest.raises(InputError, match=r"uln_multiplier \(all enzymes\) must be"):
        EnzymeNormalisation("uln_range", k)


def test_a_multiplier_for_an_unknown_enzyme_is_refused():
    with pytest.raises(InputError, match="'crp': not an enzyme"):
        EnzymeNormalisation("uln_range", per_enzyme=(("crp", 3.0),))


def test_to_micro_quantises_exactly_and_zeroes_missing_values():
    # 0.1 + 0.2 is 0.30000000000000004 as a double; in micro-units it is exactly 300000, like 0.3
    assert to_micro([0.1 + 0.2, 0.3]).tolist() == [300_000, 300_000]
    assert to_micro([1.5, np.nan, -2.25]).tolist() == [1_500_000, 0, -2_250_000]
    assert to_micro(3.0).dtype == np.int64 and MICRO == 1_000_000


def test_instrument_for_accepts_only_an_instrument_of_the_row():
    assert instrument_for("mmt", "cmas") is INSTRUMENTS["cmas"]
    for measure in CORE_SET:
        assert instrument_for(measure, CORE_SET[measure].instruments[0]).measure == measure
    with pytest.raises(InputError, match="'cmas' cannot stand for 'haq'"):
        instrument_for("haq", "cmas")


def test_every_core_set_names_one_instrument_per_row_that_can_stand_there():
    for name, rows in CORE_SETS.items():
        assert set(rows) == set(CORE_SET), name
        for measure, instrument in rows.items():
            assert instrument_for(measure, instrument).measure == measure


def test_enzyme_normalisation_names_its_multipliers():
    assert str(EnzymeNormalisation()) == "relative"
    common = EnzymeNormalisation("uln_range", 5.0)
    assert common.multiplier() == common.multiplier("ck") == 5.0
    mixed = EnzymeNormalisation("uln_range", 10.0, per_enzyme=(("ck", 15.0),))
    assert (mixed.multiplier("ck"), mixed.multiplier("alt"), mixed.multiplier(None)) == (15.0, 10.0, 10.0)
    with pytest.raises(InputError, match="'relative' or 'uln_range'"):
        EnzymeNormalisation("absolute")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown enzyme preset"):
        EnzymeNormalisation.preset("nope")
