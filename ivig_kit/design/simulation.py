"""Planning the follow-on trial (TIME IS MUSCLE: add-on IVIg in early myositis) with the kit's own engine.

Simulated patients get six core set measures at baseline (drawn from the pilot's published Table 2
medians and IQRs, with the follow-on's MMT entry criterion) and at weeks 4, 8 and 12; every visit is
scored with the exact TIS engine (:func:`ivig_kit.score.score_measure`, vectorised over all simulated
patients of all simulated trials), and each simulated trial is analysed as planned: difference in mean
week-12 TIS (Student t-test and ANCOVA on baseline MMT), TIS >= 40 at week 12 (two-proportion z-test)
and time to TIS >= 40 (log-rank over the visit weeks). Everything is seeded and **simulated**.

Response model (assumed): each patient recovers a fraction ``f = expit(mu_arm + b_patient + e_measure)``
of the room each measure has left (to 0, or to the MMT maximum) by week 12, reached with a time
constant ``tau_weeks``; measurements carry noise and are rounded to what instruments record.
``mu`` per arm is calibrated to a target mean week-12 TIS, ``sd_patient`` to a target SD of the TIS.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import special, stats
from tqdm.auto import tqdm

from ivig_kit.facts import published_value
from ivig_kit.score.engine import score_measure
from ivig_kit.score.measures import (
    CATEGORY_THRESHOLDS,
    CORE_SET,
    RESOLUTION,
    SCALE_RANGE,
    EnzymeNormalisation,
)

SIMULATED = "simulated"
MODERATE = CATEGORY_THRESHOLDS["adult"][1]  # TIS >= 40
WEEKS = (4.0, 8.0, 12.0)  # visits at the infusions of weeks 4 and 8, and the primary week 12
#: Kendall MMT 0-260 as in the pilot (same centre); the follow-on's MMT version is assumed.
MMT_MAX = 260.0
ENZYME_NORMALISATION = EnzymeNormalisation("relative")
_DECREASING = tuple(name for name, measure in CORE_SET.items() if measure.improves_by == "decrease")


def _pilot(key: str) -> float:
    return published_value("pilot", key)


def _iqr_sd(measure: str) -> tuple[float, float]:
    """Median and SD (IQR / 1.349) of a pilot Table 2 baseline measure."""
    q1, q3 = _pilot(f"table2_{measure}_baseline_q1"), _pilot(f"table2_{measure}_baseline_q3")
    return _pilot(f"table2_{measure}_baseline_median"), (q3 - q1) / (2 * stats.norm.ppf(0.75))


@dataclass(frozen=True)
class Scenario:
    """Assumptions of one simulated follow-on trial (see :func:`assumptions_table`)."""

    name: str = "main"
    target_mean_control: float = 35.0  # assumed: prednisone + placebo in early disease
    effect: float = 20.0  # assumed: add-on IVIg, difference in mean week-12 TIS
    target_sd: float = 22.3  # derived: pooled SD of ProDERM's week-16 TIS
    sd_measure: float = 0.8  # assumed: measure-to-measure variation within a patient (logit scale)
    noise_fraction: float = 0.03  # assumed: measurement noise, SD as a fraction of the range
    tau_weeks: float = 2.25  # anchored: 6 of the pilot's 8 responders by week 3 (of 9)
    dropout: float = 0.05  # anchored: ProDERM, 4 of 95 did not complete the first period
    min_mmt_loss: float = 0.10  # published: entry needs >= 10% MMT loss
    # calibrated from the targets above by calibrate(); None until then
    mu_control: float | None = None
    mu_ivig: float | None = None
    sd_patient: float | None = None


def proderm_pooled_sd() -> float:
    """Pooled SD of ProDERM's mean week-16 TIS (48.4 +/- 24.2 vs 21.6 +/- 20.2)."""
    n1, n0 = published_value("proderm", "primary_ivig_n"), published_value("proderm", "primary_placebo_n")
    s1, s0 = published_value("proderm", "sd_tis_w16_ivig"), published_value("proderm", "sd_tis_w16_placebo")
    return float(np.sqrt(((n1 - 1) * s1**2 + (n0 - 1) * s0**2) / (n1 + n0 - 2)))


def pilot_tau_weeks() -> float:
    """Time constant with which 6/8 of the improvement by week 9 is reached by week 3 (pilot responders)."""
    share = _pilot("responders_by_week3") / _pilot("primary_responders")  # 1 / (1 + x + x^2), x = exp(-3/tau)
    x = (-1 + np.sqrt(1 + 4 * (1 / share - 1))) / 2
    return float(3 / -np.log(x))


# --- Simulating patients --------------------------------------------------------------------------


def _baselines(rng, shape, min_mmt_loss: float) -> dict[str, np.ndarray]:
    """Baseline CSMs drawn from the pilot's Table 2 (normal with SD = IQR/1.349, truncated), MMT entry applied."""

    def truncated(measure, low, high, scale=1.0):
        median, sd = _iqr_sd(measure)
        median, sd = median * scale, sd * scale
        a, b = (low - median) / sd, (high - median) / sd
        return stats.truncnorm.ppf(rng.random(shape), a, b, loc=median, scale=sd)

    mmt_fraction = truncated("mmt", 0.3 * 260, (1 - min_mmt_loss) * 260) / 260  # pilot: Kendall 0-260
    ck_median, (ck_q1, ck_q3) = (
        _pilot("table2_ck_baseline_median"),
        (_pilot("table2_ck_baseline_q1"), _pilot("table2_ck_baseline_q3")),
    )
    ck_sigma = (np.log(ck_q3) - np.log(ck_q1)) / (2 * stats.norm.ppf(0.75))
    # physician global: abnormal means >= 2 cm
    base = {
        "physician_global": truncated("physician_global", 2.0, SCALE_RANGE["physician_global"]),
        "patient_global": truncated("patient_global", 0.0, SCALE_RANGE["patient_global"]),
        "mmt": mmt_fraction * MMT_MAX,
        "haq": truncated("haq", 0.0, SCALE_RANGE["haq"]),
        "enzyme": np.exp(np.log(ck_median) + ck_sigma * rng.standard_normal(shape)),
        "extramuscular": truncated("extramuscular", 0.0, SCALE_RANGE["extramuscular"]),
    }
    return {m: _recorded(m, v) for m, v in base.items()}


def baseline_mmt(rng: np.random.Generator, n: int, min_mmt_loss: float) -> np.ndarray:
    """Baseline MMT of ``n`` simulated patients drawn as :func:`simulate_tis` draws them, under the entry
    criterion "MMT at least ``min_mmt_loss`` below its maximum" (recorded to the instrument's resolution)."""
    return _baselines(rng, (n,), min_mmt_loss)["mmt"]


def _recorded(measure: str, values) -> np.ndarray:
    """Values as an instrument records them: rounded to its resolution, within its range."""
    top = MMT_MAX if measure == "mmt" else np.inf if measure == "enzyme" else SCALE_RANGE[measure]
    step = RESOLUTION[measure]
    return np.clip(np.round(np.asarray(values) / step) * step, 0.0, top)


def _scale_range(measure: str, baseline: np.ndarray) -> np.ndarray | float:
    if measure == "mmt":
        return MMT_MAX
    if measure == "enzyme":
        return baseline  # relative change: the kit's default enzyme normalisation
    return SCALE_RANGE[measure]


def _draw(scenario: Scenario, shape: tuple[int, int], rng, n_weeks: int) -> dict[str, np.ndarray]:
    """All random numbers of a simulation: baselines, patient and measure effects, noise, dropout."""
    draws = {"baseline": _baselines(rng, shape, scenario.min_mmt_loss), "patient": rng.standard_normal((*shape, 1))}
    for measure in CORE_SET:
        draws[measure] = (rng.standard_normal((*shape, 1)), rng.standard_normal((*shape, n_weeks)))
    draws["dropout"] = np.where(rng.random(shape) < scenario.dropout, rng.uniform(0, WEEKS[-1], shape), np.inf)
    return draws


def _score(
    scenario: Scenario, draws: dict, mu: np.ndarray, sd_patient: float, weeks, values: dict | None = None
) -> np.ndarray:
    """TIS at each of ``weeks`` (trials, patients, weeks), every visit scored by the kit's engine."""
    weeks = np.asarray(weeks, dtype=float)
    course = (1 - np.exp(-weeks / scenario.tau_weeks)) / (1 - np.exp(-WEEKS[-1] / scenario.tau_weeks))
    latent = mu + sd_patient * draws["patient"]
    tis = 0.0
    for measure in CORE_SET:
        b = draws["baseline"][measure][..., None]
        between, noise = draws[measure]
        fraction = special.expit(latent + scenario.sd_measure * between) * course
        room = (MMT_MAX - b) if measure == "mmt" else -b
        scale_range = _scale_range(measure, b)
        followup = _recorded(measure, b + fraction * room + scenario.noise_fraction * scale_range * noise)
        if values is not None:
            values[measure] = followup
        scale = np.broadcast_to(scale_range, followup.shape)
        tis = tis + score_measure(
            measure, np.broadcast_to(b, followup.shape).ravel(), followup.ravel(), np.ravel(scale)
        ).points.reshape(followup.shape)
    return tis


@dataclass(frozen=True)
class SimulatedTrials:
    """Simulated trials, every visit scored by the engine (:func:`simulate_tis`).

    Attributes
    ----------
    tis : numpy.ndarray
        TIS at each visit week, shape (trials, patients, weeks).
    observed : numpy.ndarray
        Same shape, bool: the visit happened before dropout.
    ivig : numpy.ndarray
        Shape (patients,), bool: the patient is in the IVIg arm.
    mmt_baseline : numpy.ndarray
        Baseline MMT, shape (trials, patients).
    """

    tis: np.ndarray
    observed: np.ndarray
    ivig: np.ndarray
    mmt_baseline: np.ndarray


def simulate_tis(scenario: Scenario, n_per_arm: int, n_trials: int, seed: int = 0, mu_ivig=None) -> SimulatedTrials:
    """Simulate ``n_trials`` trials of ``2 * n_per_arm`` patients and score every visit with the engine.

    Returns
    -------
    SimulatedTrials
        ``tis`` (trials, patients, weeks), ``observed`` (same shape: visit before dropout), ``ivig``
        (patients,), ``mmt_baseline`` (trials, patients). ``mu_ivig`` may be an array of shape
        (trials, 1) to draw the effect per trial (assurance).
    """
    scenario = calibrated(scenario)
    shape = (n_trials, 2 * n_per_arm)
    ivig = np.arange(2 * n_per_arm) >= n_per_arm
    draws = _draw(scenario, shape, np.random.default_rng(seed), len(WEEKS))
    mu_ivig = scenario.mu_ivig if mu_ivig is None else np.asarray(mu_ivig, dtype=float)
    mu = np.broadcast_to(np.where(ivig, mu_ivig, scenario.mu_control), shape)[..., None]
    tis = _score(scenario, draws, mu, scenario.sd_patient, WEEKS)
    observed = np.asarray(WEEKS) < draws["dropout"][..., None]
    return SimulatedTrials(tis=tis, observed=observed, ivig=ivig, mmt_baseline=draws["baseline"]["mmt"])


def simulated_visit_table(scenario: Scenario, n_per_arm: int, n_trials: int, seed: int = 0) -> pd.DataFrame:
    """The patients of :func:`simulate_tis` (same seed) as a long visit table that
    :func:`ivig_kit.score.total_improvement_score` reads (site = trial; CK only, ULN 200 U/l assumed)."""
    scenario = calibrated(scenario)
    shape = (n_trials, 2 * n_per_arm)
    ivig = np.arange(2 * n_per_arm) >= n_per_arm
    draws = _draw(scenario, shape, np.random.default_rng(seed), len(WEEKS))
    mu = np.broadcast_to(np.where(ivig, scenario.mu_ivig, scenario.mu_control), shape)[..., None]
    followups: dict = {}
    _score(scenario, draws, mu, scenario.sd_patient, WEEKS, values=followups)
    frames = []
    for k, week in enumerate((0.0, *WEEKS)):
        columns = {m: (draws["baseline"][m] if k == 0 else followups[m][..., k - 1]).ravel() for m in CORE_SET}
        frames.append(
            pd.DataFrame(
                {
                    "site": np.repeat([f"{SIMULATED}-trial-{t}" for t in range(n_trials)], 2 * n_per_arm),
                    "patient_id": np.tile([f"p{i:03d}" for i in range(2 * n_per_arm)], n_trials),
                    "week": week,
                    **{m: v for m, v in columns.items() if m != "enzyme"},
                    "mmt_max": MMT_MAX,
                    "ck": columns["enzyme"],
                    "ck_uln": 200.0,
                    "arm": np.tile(np.where(ivig, "IVIg", "placebo"), n_trials),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


# --- Calibration ---------------------------------------------------------------------------------


class _Calibrator:
    """Week-12 TIS of one large seeded cohort (no dropout) as a function of ``mu`` and ``sd_patient``."""

    def __init__(self, scenario: Scenario, n: int, seed: int):
        self.scenario = scenario
        self.draws = _draw(scenario, (1, n), np.random.default_rng(seed), 1)

    def tis(self, mu: float, sd_patient: float) -> np.ndarray:
        return _score(self.scenario, self.draws, mu, sd_patient, WEEKS[-1:]).ravel()

    def mu_for_mean(self, target: float, sd_patient: float) -> float:
        low, high = -8.0, 8.0  # common random numbers: the mean TIS is monotone in mu
        for _ in range(22):
            mid = (low + high) / 2
            low, high = (mid, high) if self.tis(mid, sd_patient).mean() < target else (low, mid)
        return (low + high) / 2


def calibrate(scenario: Scenario, n: int = 20_000, seed: int = 2016) -> Scenario:
    """Find ``mu`` per arm and ``sd_patient`` that give the scenario's target mean and SD of week-12 TIS."""
    cal = _Calibrator(scenario, n, seed)
    targets = (scenario.target_mean_control, scenario.target_mean_control + scenario.effect)
    low, high = 0.01, 5.0
    for _ in range(16):
        sd = (low + high) / 2
        mus = [cal.mu_for_mean(t, sd) for t in targets]
        pooled = np.sqrt(np.mean([cal.tis(m, sd).var(ddof=1) for m in mus]))
        low, high = (sd, high) if pooled < scenario.target_sd else (low, sd)
    sd = (low + high) / 2
    mus = [cal.mu_for_mean(t, sd) for t in targets]
    return replace(scenario, mu_control=round(mus[0], 4), mu_ivig=round(mus[1], 4), sd_patient=round(sd, 4))


def calibration_table(scenario: Scenario, n: int = 20_000, seed: int = 7) -> pd.DataFrame:
    """Target versus simulated mean and SD of week-12 TIS per arm (a fresh seed, no dropout)."""
    scenario = calibrated(scenario)
    cal = _Calibrator(scenario, n, seed)
    rows = []
    for arm, mu, target in (
        ("placebo + prednisone", scenario.mu_control, scenario.target_mean_control),
        ("IVIg + prednisone", scenario.mu_ivig, scenario.target_mean_control + scenario.effect),
    ):
        tis = cal.tis(mu, scenario.sd_patient)
        rows.append(
            {
                "arm": arm,
                "target mean": target,
                "simulated mean": tis.mean(),
                "target SD": scenario.target_sd,
                "simulated SD": tis.std(ddof=1),
                "simulated P(TIS >= 40)": (tis >= MODERATE).mean(),
            }
        )
    return pd.DataFrame(rows).set_index("arm").rename_axis(f"arm ({SIMULATED}, week 12, n={n})")


def mu_for_mean_tis(scenario: Scenario, targets, n: int = 8000, seed: int = 11) -> np.ndarray:
    """Latent ``mu`` giving each target mean week-12 TIS (interpolated on a grid), at the scenario's SD."""
    scenario = calibrated(scenario)
    cal = _Calibrator(scenario, n, seed)
    grid = np.linspace(-8, 8, 81)
    means = np.array([cal.tis(m, scenario.sd_patient).mean() for m in grid])
    return np.interp(np.asarray(targets, dtype=float), np.maximum.accumulate(means), grid)


def calibrated(scenario: Scenario) -> Scenario:
    """The scenario itself if its latent parameters are set, else :func:`calibrate` of it."""
    if None in (scenario.mu_control, scenario.mu_ivig, scenario.sd_patient):
        return calibrate(scenario)
    return scenario


#: The main scenario with its calibration frozen (``calibrate(Scenario())``; a test checks it).
MAIN = Scenario(mu_control=-1.3496, mu_ivig=0.094, sd_patient=1.4653)


def main_scenario() -> Scenario:
    """The main scenario, calibrated (frozen constants, re-checked by the tests)."""
    return MAIN


# --- Analysing every simulated trial at once ----------------------------------------------------


def t_test_pvalues(y: np.ndarray, treated: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Two-sided pooled-variance t-test of ``y`` (trials, patients) per trial, observed patients only."""
    w1, w0 = observed & treated, observed & ~treated
    n1, n0 = w1.sum(1), w0.sum(1)
    m1, m0 = (y * w1).sum(1) / n1, (y * w0).sum(1) / n0
    ss = (((y - m1[:, None]) ** 2) * w1).sum(1) + (((y - m0[:, None]) ** 2) * w0).sum(1)
    df = n1 + n0 - 2
    se = np.sqrt(ss / df * (1 / n1 + 1 / n0))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (m1 - m0) / se
    return np.where(se > 0, 2 * stats.t.sf(np.abs(t), df), np.where(m1 != m0, 0.0, 1.0))


def ancova_pvalues(y: np.ndarray, treated: np.ndarray, covariate: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Two-sided p of the arm coefficient in ``y ~ 1 + arm + covariate`` per trial (closed-form OLS)."""
    w = observed.astype(float)
    n = w.sum(1, keepdims=True)
    a = np.broadcast_to(treated, y.shape).astype(float)

    def centred(v):
        return (v - (v * w).sum(1, keepdims=True) / n) * w

    yc, ac, xc = centred(y), centred(a), centred(covariate)
    sxx, sax, saa = (xc * xc).sum(1), (ac * xc).sum(1), (ac * ac).sum(1)
    syx, sya = (yc * xc).sum(1), (yc * ac).sum(1)
    det = saa * sxx - sax**2
    beta_a = (sya * sxx - syx * sax) / det
    beta_x = (syx * saa - sya * sax) / det
    resid = (yc - beta_a[:, None] * ac - beta_x[:, None] * xc) * w
    df = n[:, 0] - 3
    se = np.sqrt((resid**2).sum(1) / df * sxx / det)
    return 2 * stats.t.sf(np.abs(beta_a / se), df)


def two_proportion_pvalues(success: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Two-sided pooled z-test (chi-square without continuity correction) per trial."""
    n1, n0 = treated.sum(), (~treated).sum()
    p1, p0 = (success & treated).sum(1) / n1, (success & ~treated).sum(1) / n0
    pooled = (p1 * n1 + p0 * n0) / (n1 + n0)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (p1 - p0) / se, 0.0)
    return 2 * stats.norm.sf(np.abs(z))


def logrank_pvalues(event_visit: np.ndarray, last_visit: np.ndarray, treated: np.ndarray, n_visits: int) -> np.ndarray:
    """Log-rank test per trial on visit-grouped times: event at visit ``event_visit`` (-1: none), at risk
    up to ``last_visit`` (index of the last visit attended, -1: none)."""
    o_minus_e = np.zeros(event_visit.shape[0])
    variance = np.zeros_like(o_minus_e)
    for k in range(n_visits):
        at_risk = ((event_visit < 0) | (event_visit >= k)) & (last_visit >= k)
        event = event_visit == k
        n, n1 = at_risk.sum(1), (at_risk & treated).sum(1)
        d, d1 = event.sum(1), (event & treated).sum(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            o_minus_e += np.where(n > 0, d1 - d * n1 / n, 0.0)
            variance += np.where(n > 1, d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = np.where(variance > 0, o_minus_e**2 / variance, 0.0)
    return stats.chi2.sf(chi2, 1)


def analyse(sim: SimulatedTrials) -> pd.DataFrame:
    """One row per simulated trial: p values of every planned analysis and the estimated difference."""
    tis, observed, ivig = sim.tis, sim.observed, sim.ivig
    week12, seen12 = tis[..., -1], observed[..., -1]
    responded = (tis >= MODERATE) & observed
    first = np.where(responded.any(-1), responded.argmax(-1), -1)
    last = observed.sum(-1) - 1
    n1, n0 = (seen12 & ivig).sum(1), (seen12 & ~ivig).sum(1)
    return pd.DataFrame(
        {
            "difference": (week12 * (seen12 & ivig)).sum(1) / n1 - (week12 * (seen12 & ~ivig)).sum(1) / n0,
            "p_t_test": t_test_pvalues(week12, ivig, seen12),
            "p_ancova": ancova_pvalues(week12, ivig, sim.mmt_baseline, seen12),
            "p_tis40": two_proportion_pvalues((week12 >= MODERATE) & seen12, ivig),  # dropout = non-responder
            "p_logrank": logrank_pvalues(first, last, ivig, tis.shape[-1]),
        }
    )


ANALYSES = {
    "p_t_test": "mean TIS, t-test",
    "p_ancova": "mean TIS, ANCOVA (baseline MMT)",
    "p_tis40": "TIS >= 40 at week 12",
    "p_logrank": "time to TIS >= 40 (log-rank)",
}


def power_table(p_values: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Rejection rate of each analysis with its Monte Carlo standard error."""
    rows = []
    for column, label in ANALYSES.items():
        if column in p_values:
            power = float((p_values[column] < alpha).mean())
            rows.append(
                {
                    "analysis": label,
                    "power": power,
                    "mc_se": float(np.sqrt(power * (1 - power) / len(p_values))),
                    "trials": len(p_values),
                }
            )
    return pd.DataFrame(rows).set_index("analysis").rename_axis(f"analysis ({SIMULATED})")


def simulate_trials(
    scenario: Scenario,
    n_total: int,
    n_trials: int,
    seed: int = 0,
    chunk: int = 2000,
    progress: bool | None = None,
    mu_ivig=None,
) -> pd.DataFrame:
    """Simulate, score and analyse ``n_trials`` trials of ``n_total`` patients (1:1), in seeded chunks."""
    scenario = calibrated(scenario)
    chunks = [min(chunk, n_trials - start) for start in range(0, n_trials, chunk)]
    seeds = np.random.SeedSequence(seed).spawn(len(chunks))
    show = progress if progress is not None else n_trials > 5 * chunk
    results, start = [], 0
    for size, child in tqdm(list(zip(chunks, seeds)), disable=not show, desc=f"{SIMULATED} trials"):
        mu = None if mu_ivig is None else np.asarray(mu_ivig)[start : start + size]
        sim = simulate_tis(scenario, n_total // 2, size, seed=np.random.default_rng(child).integers(2**63), mu_ivig=mu)
        results.append(analyse(sim))
        start += size
    return pd.concat(results, ignore_index=True)


@dataclass(frozen=True)
class SimulationSizes:
    """The simulation sizes of notebook 04 (papermill may inject them): trials per step and the seed.

    Every field must be a positive whole number; :class:`ValueError` names the first that is not.
    """

    n_trials: int
    n_trials_curve: int
    n_trials_sensitivity: int
    n_trials_assurance: int
    seed: int

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive whole number, not {value!r}")
            object.__setattr__(self, name, int(value))


def validated_sizes(
    n_trials: int, n_trials_curve: int, n_trials_sensitivity: int, n_trials_assurance: int, seed: int
) -> SimulationSizes:
    """Check the simulation sizes injected by papermill (positive whole numbers) and return them."""
    return SimulationSizes(
        n_trials=n_trials,
        n_trials_curve=n_trials_curve,
        n_trials_sensitivity=n_trials_sensitivity,
        n_trials_assurance=n_trials_assurance,
        seed=seed,
    )


def power(
    scenario: Scenario, n_total: int = 48, n_trials: int = 1000, seed: int = 0, alpha: float = 0.05, **kwargs
) -> pd.DataFrame:
    """Simulated power of every planned analysis for one trial size, with Monte Carlo SE."""
    return power_table(simulate_trials(scenario, n_total, n_trials, seed, **kwargs), alpha)
