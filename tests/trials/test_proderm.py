"""ProDERM reanalysis: pins what the kit reproduces from the published aggregates, and what it cannot.

Published numbers pinned here: Aggarwal R et al. N Engl J Med 2022;387:1264-78 (Abstract; Results):
primary 37/47 vs 21/48, difference 35 (95% CI 17 to 53), P < 0.001; TIS >= 40: 68% vs 23%, 45 (27 to 63);
TIS >= 60: 32% vs 8%, 24 (8 to 39). Octagam 10% label: 34.97% (95% CI 16.70, 53.24), p = 0.0008.
Safety, Arthritis Res Ther 2024;26: thromboembolic events in 6 of 95 patients, 8 events in 664 infusion cycles.
"""

import math

import matplotlib
import pytest
from scipy import stats

matplotlib.use("Agg")

from ivig_kit.inference.fragility import fragility_index
from ivig_kit.trials import figures, proderm, sponsor_p_value, thromboembolism


def test_primary_table():
    table = proderm.primary_table()
    assert table.loc["IVIg", ["responders", "non-responders", "total"]].tolist() == [37, 10, 47]
    assert table.loc["placebo", ["responders", "non-responders", "total"]].tolist() == [21, 27, 48]
    assert table.loc["total", "total"] == 95


def test_secondary_counts_are_derived_uniquely():
    derived = proderm.derived_secondary_counts()
    assert derived["unique"].all() and (derived["kind"] == "derived").all()
    found = {(row.endpoint, row.arm): row.count for row in derived.itertuples()}
    assert found == {("tis40", "IVIg"): 32, ("tis40", "placebo"): 11, ("tis60", "IVIg"): 15, ("tis60", "placebo"): 4}
    # independently: every k with 100k/n rounding (half up) to the printed percent
    for (endpoint, arm), percent, n in (
        ((("tis40", "IVIg")), 68, 47),
        (("tis40", "placebo"), 23, 48),
        (("tis60", "IVIg"), 32, 47),
        (("tis60", "placebo"), 8, 48),
    ):
        assert [k for k in range(n + 1) if math.floor(100 * k / n + 0.5) == percent] == [found[(endpoint, arm)]]


def test_derived_counts_give_the_printed_differences():
    check = proderm.derived_difference_check().set_index("endpoint")
    assert check["matches"].all()
    assert check.loc["tis40", "difference_pp"] == pytest.approx(100 * (32 / 47 - 11 / 48))
    assert check.loc[["primary", "tis40", "tis60"], "printed"].tolist() == [35, 45, 24]


def test_endpoint_counts_label_their_source():
    counts = proderm.endpoint_counts().set_index("endpoint")
    assert counts.loc["primary", "counts"] == "published"
    assert counts.loc[["tis40", "tis60"], "counts"].tolist() == ["derived", "derived"]


def wald_percent(x1, n1, x2, n2):
    p1, p2 = x1 / n1, x2 / n2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    z = stats.norm.isf(0.025)
    return 100 * (p1 - p2 - z * se), 100 * (p1 - p2 + z * se)


def test_wald_reproduces_every_published_interval():
    intervals = proderm.endpoint_intervals()
    wald = intervals[intervals["method"] == "wald"].set_index("reference")
    assert wald["reproduces"].all()
    assert wald.loc["NEJM, primary", ["estimate_rounded", "low_rounded", "high_rounded"]].tolist() == [35, 17, 53]
    assert wald.loc["sponsor website, primary", ["estimate_rounded", "low_rounded", "high_rounded"]].tolist() == [
        34.97,
        16.70,
        53.24,
    ]
    assert wald.loc["NEJM, TIS >= 40", ["low_rounded", "high_rounded"]].tolist() == [27, 63]
    assert wald.loc["NEJM, TIS >= 60", ["low_rounded", "high_rounded"]].tolist() == [8, 39]
    low, high = wald_percent(37, 47, 21, 48)
    assert (round(low, 2), round(high, 2)) == (16.70, 53.24)
    assert wald.loc["NEJM, primary", ["low", "high"]].tolist() == pytest.approx([low, high])


def test_which_methods_reproduce_which_interval():
    methods = proderm.reproducing_methods()
    assert methods["NEJM, primary"] == ["wald"]
    assert methods["sponsor website, primary"] == ["wald"]
    assert methods["NEJM, TIS >= 40"] == ["wald"]
    # at integer precision the TIS >= 60 interval is reproduced by the score methods too
    assert set(methods["NEJM, TIS >= 60"]) == {"wald", "newcombe", "score", "mee"}


def test_the_recommended_methods_miss_the_primary_interval():
    intervals = proderm.endpoint_intervals().set_index(["reference", "method"])
    for method in ("newcombe", "score", "agresti_caffo"):
        row = intervals.loc[("NEJM, primary", method)]
        assert row["low_rounded"] in (15, 16) and row["high_rounded"] in (51, 52)


def test_the_sponsor_p_value_is_not_reproduced_from_the_counts():
    investigation = sponsor_p_value.sponsor_p_value_investigation()
    assert investigation.label_p == 0.0008 and investigation.decimals == 4
    assert not investigation.reproduced
    p = investigation.tests.set_index("test")["p_rounded"]
    assert (p["fisher"], p["pearson"], p["pearson_yates"], p["barnard"], p["boschloo"]) == (
        0.0007,
        0.0005,
        0.0010,
        0.0004,
        0.0005,
    )
    # the interval printed beside it is the Wald interval, yet the Wald test gives a much smaller p
    assert p["wald_unpooled"] == 0.0002
    # needed: a 1-df chi-square between the Yates-corrected and the uncorrected Pearson statistic
    low, high = investigation.needed.loc["chi-square (1 df)", ["low", "high"]]
    assert (stats.chi2.sf(low, 1), stats.chi2.sf(high, 1)) == pytest.approx((0.00085, 0.00075))
    statistics = investigation.tests.set_index("test")["statistic"]
    assert statistics["pearson_yates"] < low < high < statistics["pearson"]
    assert "not published" in investigation.explanation


def test_nejm_bound_holds_for_most_tests_but_not_yates():
    tests = sponsor_p_value.sponsor_p_value_investigation().tests.set_index("test")
    assert tests.loc["fisher", "below_nejm_bound"] and tests.loc["pearson", "below_nejm_bound"]
    assert not tests.loc["pearson_yates", "below_nejm_bound"]  # 0.00102


def test_fragility_index_of_the_primary_endpoint():
    flips = 0
    while stats.fisher_exact([[37, 10], [21 + flips, 27 - flips]])[1] < 0.05:
        flips += 1
    assert fragility_index(37, 47, 21, 48).index == flips == 8


def test_thromboembolic_rates_with_exact_intervals():
    table = thromboembolism.thromboembolic_rates().set_index(["population", "quantity"])
    for quantity, k, n in (("patients with an event", 6, 95), ("events per infusion cycle", 8, 664)):
        row = table.loc[("ProDERM, all IVIg exposure", quantity)]
        assert (row["events"], row["denominator"]) == (k, n)
        expected = (100 * stats.beta.ppf(0.025, k, n - k + 1), 100 * stats.beta.ppf(0.975, k + 1, n - k))
        assert (row["low"], row["high"]) == pytest.approx(expected)
    assert table.loc[("ProDERM, first period, placebo", "patients with an event"), "low"] == 0


def test_mean_tis_over_time_reads_weeks_from_the_facts():
    table = proderm.mean_tis_over_time()
    assert sorted(table["week"].unique()) == [16, 28, 40]
    ivig = table[table["sequence"] == "IVIg first"].set_index("week")
    assert ivig["mean_tis"].tolist() == [48.4, 54, 55.44]
    assert ivig.loc[16, "sd"] == 24.2 and math.isnan(ivig.loc[40, "sd"])


def test_extension_responders_are_not_pinned_by_the_percentages():
    candidates = proderm.extension_responder_candidates()
    ivig_first = candidates[candidates["sequence"] == "IVIg first"]
    assert len(ivig_first) > 1 and (32, 45) in set(zip(ivig_first["responders"], ivig_first["n"]))


def test_pilot_beside_proderm():
    table = proderm.pilot_vs_proderm_table()
    assert "8/19" in table.loc["primary result", "pilot (Lim 2021)"]
    assert "37/47" in table.loc["primary result", "ProDERM (Aggarwal 2022)"]
    assert "32/47" in table.loc["TIS >= 40", "ProDERM (Aggarwal 2022)"]


def test_figures_draw_what_they_are_given():
    figure = figures.forest_figure()
    ax = figure.axes[0]
    assert len(ax.get_yticks()) == 3
    assert any("derived" in label.get_text() for label in ax.get_yticklabels())
    figure = figures.mean_tis_over_time_figure()
    assert "no patient-level" in " ".join(t.get_text() for t in figure.axes[0].texts)
    matplotlib.pyplot.close("all")


def test_the_p_0_0008_question_settled_as_far_as_counts_allow():
    question = sponsor_p_value.stratified_p_value_question()
    assert round(question.unstratified.p_value, 5) == 0.00051 and not question.unstratified_prints_as_label
    assert round(100 * question.summary.share_printing_as, 1) == 2.7
    assert question.conclusion.startswith("The counts cannot settle where p = 0.0008 came from")
    assert "2.7%" in question.conclusion and "0.00051" in question.conclusion
    assert "covariate-adjusted" in question.conclusion and "reachable" not in question.conclusion


def test_share_printing_the_website_p_by_allowed_imbalance():
    table = sponsor_p_value.stratified_p_by_allowed_imbalance().set_index("allowed imbalance")
    shares = table["% of configurations printing 0.0008"]
    assert list(table.index) == ["<= 0", "<= 1", "<= 2", "<= 4", "<= 5", "unlimited"]
    assert [round(v, 2) for v in shares.iloc[1:5]] == [0.0, 0.02, 0.94, 4.33]
    assert round(table.loc["unlimited", "% of patient partitions printing 0.0008"], 2) == 4.25


@pytest.mark.slow
def test_exact_intervals_sit_beside_the_asymptotic_ones():
    table = proderm.exact_and_asymptotic_intervals().set_index("kind")
    assert list(table.index).count("exact unconditional") == 2
    wald = table.loc["asymptotic"].iloc[0]
    assert (round(wald["low"], 2), round(wald["high"], 2)) == (16.70, 53.24)  # the sponsor website's interval
    assert (table.loc["exact unconditional", "low"] > 0).all()


def test_the_news_piece_denominator_is_wrong():
    check = thromboembolism.thromboembolic_claim_check().set_index("verdict")
    assert (check.loc["wrong denominator", "patients"], check.loc["wrong denominator", "denominator"]) == (6, 47)
    assert (check.loc["source", "patients"], check.loc["source", "denominator"]) == (6, 95)
    assert round(check.loc["source", "percent"], 1) == 6.3


def test_estimand_scenarios_keep_the_published_row_first():
    table = proderm.estimand_scenarios()
    assert table.iloc[0]["placebo"] == "21/48" and table["scenario"].iloc[0].startswith("published composite")
    assert table["scenario"].iloc[1:].str.startswith("hypothetical").all()
    assert (table["newcombe_low"] > 0).all() and table["difference"].is_monotonic_decreasing


def test_pilot_endpoint_is_read_at_the_last_assessment():
    table = proderm.pilot_vs_proderm_table()
    pilot_column = table["pilot (Lim 2021)"]
    assert "any visit" not in " ".join(pilot_column)
    assert "last assessment" in pilot_column["primary endpoint"]
