"""Throughput of the follow-on trial simulation (notebook 04) against a naive per-trial loop.

The vectorised path simulates, scores (the exact TIS engine over all patients of all trials at once)
and analyses every simulated trial (t-test, ANCOVA, TIS >= 40, log-rank) in array operations. The
baseline loops over trials: one trial simulated and scored at a time, analysed with scipy and
statsmodels calls. Both run in this process on the main scenario (N = 48); the script also checks
that both analyses give the same p values on the same simulated trials.

    python bench/design_throughput.py [--trials 20000] [--baseline-trials 200] [--n 48] [--curve-trials 5000]

With ``--curve-trials`` it also prints the total N for 80% and 90% power of each analysis (a power
curve over N = 24..120 with that many simulated trials per point, probit fit on sqrt(N)).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import statsmodels.api as sm
from scipy import stats
from statsmodels.duration.survfunc import survdiff
from statsmodels.stats.proportion import proportions_ztest

from ivig_kit.design import planning
from ivig_kit.design import simulation as design


def analyse_one(sim: design.SimulatedTrials, t: int) -> list[float]:
    """The planned analyses of trial ``t`` with library calls (the naive way)."""
    tis, observed, ivig = sim.tis[t], sim.observed[t], sim.ivig
    y, seen = tis[:, -1], observed[:, -1]
    p_t = stats.ttest_ind(y[seen & ivig], y[seen & ~ivig]).pvalue
    exog = sm.add_constant(np.column_stack([ivig[seen], sim.mmt_baseline[t, seen]]).astype(float))
    p_a = sm.OLS(y[seen], exog).fit().pvalues[1]
    success = (y >= design.MODERATE) & seen
    counts = [success[ivig].sum(), success[~ivig].sum()]
    p_b = proportions_ztest(counts, [ivig.sum(), (~ivig).sum()])[1] if 0 < sum(counts) < len(y) else 1.0
    responded = (tis >= design.MODERATE) & observed
    event = responded.any(1)
    time_ = np.where(event, responded.argmax(1), observed.sum(1) - 1) + 1.0
    keep = time_ > 0
    p_l = survdiff(time_[keep], event[keep].astype(int), ivig[keep].astype(int))[1] if event.any() else 1.0
    return [p_t, p_a, p_b, p_l]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20_000)
    parser.add_argument("--baseline-trials", type=int, default=200)
    parser.add_argument("--n", type=int, default=48, help="total patients per trial")
    parser.add_argument("--curve-trials", type=int, default=0, help="simulated trials per N for the N at 80/90%%")
    args = parser.parse_args(argv)
    scenario = design.main_scenario()

    design.simulate_trials(scenario, args.n, 50, seed=0)  # warm up imports and caches
    start = time.perf_counter()
    p = design.simulate_trials(scenario, args.n, args.trials, seed=1, progress=False)
    vectorised = args.trials / (time.perf_counter() - start)

    start = time.perf_counter()
    for t in range(args.baseline_trials):
        analyse_one(design.simulate_tis(scenario, args.n // 2, 1, seed=t), 0)
    naive = args.baseline_trials / (time.perf_counter() - start)

    sim = design.simulate_tis(scenario, args.n // 2, 50, seed=3)
    looped = np.array([analyse_one(sim, t) for t in range(50)])
    vector = design.analyse(sim)[["p_t_test", "p_ancova", "p_tis40", "p_logrank"]].to_numpy()
    assert np.allclose(looped, vector, rtol=1e-6, atol=1e-12), "vectorised and per-trial analyses disagree"

    table = design.power_table(p)
    print(f"main scenario, N = {args.n}, {args.trials} simulated trials (seed 1):")
    for analysis, row in table.iterrows():
        print(f"  power {analysis:34s} {row['power']:.4f} +/- {row['mc_se']:.4f} (MC SE)")
    print(f"vectorised: {vectorised:,.0f} simulated trials/s (simulate + score with the engine + 4 analyses)")
    print(f"naive per-trial loop: {naive:,.1f} simulated trials/s ({args.baseline_trials} trials)")
    print(f"ratio vectorised / per-trial loop: {vectorised / naive:,.0f}x")
    if args.curve_trials:
        curve = planning.power_curve(scenario, n_trials=args.curve_trials, seed=2, progress=True)
        for analysis in design.ANALYSES.values():
            n80, n90 = (planning.sample_size_from_curve(curve, analysis, t) for t in (0.8, 0.9))
            print(f"  N for 80% / 90%: {analysis:34s} {n80} / {n90} ({args.curve_trials} trials per N)")
        closed = [
            planning.t_test_sample_size(scenario.effect, scenario.target_sd, target, scenario.dropout)
            for target in (0.8, 0.9)
        ]
        print(f"  N for 80% / 90%: {'t-test, closed form (statsmodels)':34s} {closed[0]} / {closed[1]}")


if __name__ == "__main__":
    main()
