"""Power of the follow-on trial: closed forms (statsmodels), their simulated twins, power curves,
sample sizes, sensitivity to the assumptions and assurance.

The closed forms are the checks the simulation in :mod:`ivig_kit.design.simulation` must meet for
normal and binary outcomes; the curves and the assurance use the simulation, scored by the engine.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize
from tqdm.auto import tqdm

from ivig_kit.design.simulation import (
    ANALYSES,
    ENZYME_NORMALISATION,
    MAIN,
    MMT_MAX,
    SIMULATED,
    Scenario,
    baseline_mmt,
    calibrate,
    calibrated,
    mu_for_mean_tis,
    pilot_tau_weeks,
    power,
    proderm_pooled_sd,
    simulate_trials,
    t_test_pvalues,
    two_proportion_pvalues,
)
from ivig_kit.facts import published_value
from ivig_kit.score.engine import score_measure


def _pilot(key: str) -> float:
    return published_value("pilot", key)


class SimulatedPower(NamedTuple):
    """Simulated power (rejection rate) and its Monte Carlo standard error."""

    power: float
    mc_se: float


class NormalPrior(NamedTuple):
    """A normal prior: mean and standard deviation."""

    mean: float
    sd: float


# --- Closed forms and their simulated twins ------------------------------------------------------


def t_test_power(effect: float, sd: float, n_total: float, dropout: float = 0.0, alpha: float = 0.05) -> float:
    """Closed-form power of the two-sample t-test (statsmodels), completers ``n_total * (1 - dropout) / 2`` per arm."""
    n_arm = n_total * (1 - dropout) / 2
    result = float(TTestIndPower().power(effect_size=abs(effect) / sd, nobs1=n_arm, alpha=alpha, ratio=1.0))
    if np.isnan(result) and abs(effect) / sd * np.sqrt(n_arm / 2) > 8:
        return 1.0  # the noncentral t underflows for huge effects, whose power is 1 to machine precision
    return result


def t_test_sample_size(effect: float, sd: float, target: float = 0.8, dropout: float = 0.0, alpha: float = 0.05) -> int:
    """Total N (even, 1:1) for the t-test to reach ``target`` power, inflated for dropout (statsmodels)."""
    n_arm = TTestIndPower().solve_power(effect_size=effect / sd, power=target, alpha=alpha, ratio=1.0)
    return int(2 * np.ceil(n_arm / (1 - dropout)))


def two_proportion_power(p_control: float, p_ivig: float, n_per_arm: float, alpha: float = 0.05) -> float:
    """Classical power of the pooled two-proportion z-test (normal approximation, two-sided)."""
    z = stats.norm.ppf(1 - alpha / 2)
    pbar = (p_control + p_ivig) / 2
    spread = np.sqrt(p_control * (1 - p_control) + p_ivig * (1 - p_ivig))
    delta = abs(p_ivig - p_control) * np.sqrt(n_per_arm)
    return float(
        stats.norm.cdf((delta - z * np.sqrt(2 * pbar * (1 - pbar))) / spread)
        + stats.norm.cdf((-delta - z * np.sqrt(2 * pbar * (1 - pbar))) / spread)
    )


def arcsine_power(p_control: float, p_ivig: float, n_per_arm: float, alpha: float = 0.05) -> float:
    """Power of the same comparison through Cohen's h (statsmodels ``proportion_effectsize``, ``NormalIndPower``)."""
    h = proportion_effectsize(p_ivig, p_control)
    return float(NormalIndPower().power(effect_size=h, nobs1=n_per_arm, alpha=alpha, ratio=1.0))


def simulated_normal_power(
    effect: float, sd: float, n_per_arm: int, n_trials: int, seed: int = 0, alpha: float = 0.05
) -> SimulatedPower:
    """Power and MC SE of the kit's vectorised t-test on normal outcomes (the check against the closed form)."""
    rng = np.random.default_rng(seed)
    treated = np.arange(2 * n_per_arm) >= n_per_arm
    y = rng.normal(0.0, sd, (n_trials, 2 * n_per_arm)) + effect * treated
    rejected = t_test_pvalues(y, treated, np.ones_like(y, dtype=bool)) < alpha
    return SimulatedPower(float(rejected.mean()), float(rejected.std() / np.sqrt(n_trials)))


def simulated_proportion_power(
    p_control: float, p_ivig: float, n_per_arm: int, n_trials: int, seed: int = 0, alpha: float = 0.05
) -> SimulatedPower:
    """Power and MC SE of the kit's vectorised two-proportion test on Bernoulli outcomes."""
    rng = np.random.default_rng(seed)
    treated = np.arange(2 * n_per_arm) >= n_per_arm
    success = rng.random((n_trials, 2 * n_per_arm)) < np.where(treated, p_ivig, p_control)
    rejected = two_proportion_pvalues(success, treated) < alpha
    return SimulatedPower(float(rejected.mean()), float(rejected.std() / np.sqrt(n_trials)))


# --- Sample size, sensitivity, assurance --------------------------------------------------------


def power_curve(
    scenario: Scenario,
    n_totals=(24, 32, 48, 64, 80, 96, 120),
    n_trials: int = 500,
    seed: int = 0,
    alpha: float = 0.05,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Simulated power of every analysis over trial sizes (long table: n_total, analysis, power, mc_se)."""
    tables = []
    for i, n in enumerate(tqdm(list(n_totals), disable=not progress, desc=f"{SIMULATED} sizes")):
        table = power(scenario, int(n), n_trials, seed + i, alpha).reset_index()
        tables.append(table.set_axis(["analysis", *table.columns[1:]], axis=1).assign(n_total=int(n)))
    return pd.concat(tables, ignore_index=True)[["n_total", "analysis", "power", "mc_se", "trials"]]


def sample_size_from_curve(curve: pd.DataFrame, analysis: str, target: float = 0.8, alpha: float = 0.05) -> int:
    """Total N (even) for ``target`` power, from a probit fit of simulated power on sqrt(N).

    For a two-sided Wald-type test ``probit(power) ~= b * sqrt(N) - z(1 - alpha/2)``: only the slope
    ``b`` is fitted (weighted by each point's binomial information), which smooths Monte Carlo error.
    """
    rows = curve[curve["analysis"] == analysis]
    trials = rows["trials"].to_numpy(dtype=float)
    p = np.clip(rows["power"].to_numpy(dtype=float), 0.5 / trials, 1 - 0.5 / trials)
    z = stats.norm.ppf(p) + stats.norm.ppf(1 - alpha / 2)
    weights = trials * stats.norm.pdf(stats.norm.ppf(p)) ** 2 / (p * (1 - p))
    x = np.sqrt(rows["n_total"].to_numpy(dtype=float))
    slope = float(np.sum(weights * x * z) / np.sum(weights * x * x))
    if slope <= 0:
        return -1  # power does not grow with N: the scenario has no detectable effect
    n = ((stats.norm.ppf(target) + stats.norm.ppf(1 - alpha / 2)) / slope) ** 2
    return int(2 * np.ceil(n / 2))


def sensitivity(
    scenario: Scenario,
    n_total: int = 48,
    n_trials: int = 400,
    seed: int = 0,
    grid: dict | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Simulated power of the planned t-test as each assumption moves alone (others at the scenario's value).

    The effect moves through the calibration curve (mean TIS -> latent ``mu``); the control mean moves
    with the *latent* effect held fixed, so a control arm near the ceiling shows what the same biology
    is worth in TIS points; dropout, entry MMT loss and noise move directly; the SD of the TIS needs a
    new calibration (slow), so it is not in the default grid.
    """
    scenario = calibrated(scenario)
    grid = grid or {
        "effect": [5, 10, 15, 20, 25, 30],
        "target_mean_control": [20, 30, 35, 40, 50, 60],
        "dropout": [0.0, 0.05, 0.1, 0.2, 0.3],
        "min_mmt_loss": [0.1, 0.2, 0.3],
        "noise_fraction": [0.0, 0.03, 0.06, 0.1],
    }
    effects, controls = grid.get("effect", []), grid.get("target_mean_control", [])
    mus = mu_for_mean_tis(scenario, [scenario.target_mean_control + e for e in effects] + list(controls))
    mu_of = {("effect", e): m for e, m in zip(effects, mus)}
    mu_of.update({("target_mean_control", c): m for c, m in zip(controls, mus[len(effects) :])})
    rows = []
    jobs = [(name, value) for name, values in grid.items() for value in values]
    for name, value in tqdm(jobs, disable=not progress, desc=f"{SIMULATED} sensitivity"):
        varied = replace(scenario, **{name: value})
        if value == getattr(scenario, name):
            varied = scenario  # the main scenario keeps its own calibration
        elif name == "effect":
            varied = replace(varied, mu_ivig=float(mu_of[name, value]))
        elif name == "target_mean_control":
            control = float(mu_of[name, value])
            varied = replace(varied, mu_control=control, mu_ivig=control + scenario.mu_ivig - scenario.mu_control)
        elif name == "target_sd":
            varied = calibrate(replace(varied, mu_control=None))
        table = power(varied, n_total, n_trials, seed).loc[ANALYSES["p_t_test"]]  # common random numbers
        rows.append(
            {
                "assumption": name,
                "value": value,
                "power": table["power"],
                "mc_se": table["mc_se"],
                "main": value == getattr(scenario, name),
            }
        )
    return pd.DataFrame(rows)


def assurance_prior() -> NormalPrior:
    """Normal prior (mean, SD) for the add-on effect on mean week-12 TIS, built from the two trials.

    ProDERM's difference in mean week-16 TIS (48.4 - 21.6), discounted by the pilot's moderate-response
    rate relative to ProDERM's IVIg arm (8/19 vs 68%): an *assumed* transport from established DM to
    add-on IVIg in early myositis. The SD combines ProDERM's standard error with the pilot's binomial
    uncertainty in the discount.
    """
    diff = published_value("proderm", "mean_tis_w16_ivig") - published_value("proderm", "mean_tis_w16_placebo")
    arms = (("ivig", "ivig"), ("placebo", "placebo"))
    se = np.sqrt(
        sum(
            published_value("proderm", f"sd_tis_w16_{arm}") ** 2 / published_value("proderm", f"primary_{n}_n")
            for arm, n in arms
        )
    )
    pilot_rate = _pilot("primary_responders") / _pilot("analysed_n")
    proderm_rate = published_value("proderm", "tis40_ivig_percent") / 100
    discount = pilot_rate / proderm_rate
    discount_se = np.sqrt(pilot_rate * (1 - pilot_rate) / _pilot("analysed_n")) / proderm_rate
    return NormalPrior(float(diff * discount), float(np.sqrt((se * discount) ** 2 + (diff * discount_se) ** 2)))


def assurance(
    scenario: Scenario,
    n_total: int = 48,
    n_trials: int = 1000,
    seed: int = 0,
    prior: tuple[float, float] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Assurance: power averaged over the prior of the effect, simulated (one effect per trial) and closed form."""
    scenario = calibrated(scenario)
    mean, sd = prior or assurance_prior()
    effects = np.random.default_rng(seed).normal(mean, sd, n_trials)
    mu = mu_for_mean_tis(scenario, scenario.target_mean_control + effects)[:, None]
    p = simulate_trials(scenario, n_total, n_trials, seed + 1, mu_ivig=mu)["p_t_test"]
    rejected = (p < alpha).to_numpy()
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    closed = sum(
        w * t_test_power(mean + sd * x, scenario.target_sd, n_total, scenario.dropout, alpha)
        for x, w in zip(nodes, weights)
    ) / np.sqrt(2 * np.pi)
    fixed = t_test_power(scenario.effect, scenario.target_sd, n_total, scenario.dropout, alpha)
    return pd.DataFrame(
        {
            "quantity": [
                f"assurance ({SIMULATED})",
                "assurance (closed form, normal TIS)",
                f"power at the scenario's fixed effect {scenario.effect:g} (closed form)",
            ],
            "value": [rejected.mean(), closed, fixed],
            "mc_se": [rejected.std() / np.sqrt(n_trials), np.nan, np.nan],
        }
    ).set_index("quantity")


# --- What the simulation assumes ---------------------------------------------------------------


def assumptions_table(scenario: Scenario = MAIN) -> pd.DataFrame:
    """Every assumption of the simulation: value, whether it is published, anchored, derived or assumed, and why."""
    tim = "TIME IS MUSCLE registration/protocol"
    prior_mean, prior_sd = assurance_prior()
    rows = [
        ("trial size", f"{published_value('time_is_muscle', 'planned_n'):g} patients, 1:1", "published", tim),
        ("primary endpoint", f"TIS at week {published_value('time_is_muscle', 'primary_week'):g}", "published", tim),
        (
            "primary comparison",
            "difference in mean TIS (t-test)",
            "assumed",
            "ours: the kit's comparison; the protocol's statistical analysis and sample-size sections are not "
            "stored in the kit's facts",
        ),
        ("visits", "weeks 4, 8, 12", "assumed", "at the infusions of weeks 4 and 8 (published) and week 12"),
        ("entry: MMT loss", f">= {scenario.min_mmt_loss:.0%}", "published", tim),
        ("MMT scale", f"Kendall 0-{MMT_MAX:g}", "assumed", "the pilot's scale (same centre); version not stated"),
        (
            "baseline CSMs",
            "normal, median and IQR of the pilot's Table 2, truncated to range and entry",
            "anchored",
            "pilot (newly diagnosed IIM); physician global >= 2 cm as 'abnormal'",
        ),
        ("enzyme", f"CK, {ENZYME_NORMALISATION} change", "assumed", "kit default; the official rule is unconfirmed"),
        (
            "mean week-12 TIS, placebo + prednisone",
            f"{scenario.target_mean_control:g}",
            "assumed",
            "above ProDERM's placebo (21.6 at week 16, established DM): fresh prednisone in early disease",
        ),
        (
            "effect: difference in mean TIS",
            f"{scenario.effect:g}",
            "assumed",
            "below ProDERM's 26.8 (IVIg vs placebo on background therapy): an add-on to active treatment",
        ),
        ("SD of week-12 TIS", f"{scenario.target_sd:g}", "derived", f"ProDERM pooled SD ({proderm_pooled_sd():.1f})"),
        (
            "speed of response",
            f"tau = {scenario.tau_weeks:g} weeks",
            "anchored",
            f"pilot: 6 of 8 responders by week 3 (tau {pilot_tau_weeks():.2f})",
        ),
        (
            "dropout/rescue by week 12",
            f"{scenario.dropout:.0%}",
            "anchored",
            "ProDERM: 45/47 and 46/48 completed 16 weeks",
        ),
        (
            "handling of dropout",
            "complete cases (means), non-responder (TIS >= 40), censored (log-rank)",
            "assumed",
            "a choice of the analysis plan",
        ),
        (
            "within-patient spread, noise",
            f"{scenario.sd_measure:g} (logit), {scenario.noise_fraction:.0%} of range",
            "assumed",
            "no published patient-level data",
        ),
        (
            "prior for assurance",
            f"normal({prior_mean:.1f}, {prior_sd:.1f})",
            "derived + assumed",
            "ProDERM difference x pilot/ProDERM response rate (8/19 vs 68%)",
        ),
    ]
    return pd.DataFrame(rows, columns=["assumption", "value", "basis", "source or reason"]).set_index("assumption")


def entry_ceiling_table(min_losses=(0.10, 0.20, 0.30), n: int = 20_000, seed: int = 3) -> pd.DataFrame:
    """How the MMT entry criterion bounds what the TIS can show: MMT points reachable at full strength."""
    rows = []
    for loss in min_losses:
        base = baseline_mmt(np.random.default_rng(seed), n, loss)
        best = score_measure("mmt", base, np.full(n, MMT_MAX), MMT_MAX).points
        rows.append(
            {
                "entry: MMT loss at least": f"{loss:.0%}",
                "median baseline MMT": np.median(base),
                "mean reachable MMT points": best.mean(),
                "share who can reach 32.5": (best == 32.5).mean(),
            }
        )
    return pd.DataFrame(rows).set_index("entry: MMT loss at least").rename_axis(f"entry ({SIMULATED} baselines)")
