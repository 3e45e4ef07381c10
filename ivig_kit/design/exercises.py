"""Exercises of notebook 04 (planning the follow-on trial), registered with the kit's exercises.

Each answer is computed with :mod:`ivig_kit.design.planning`; the known mistakes are the ones people
make with power calculations (per-arm against total N, one-sided tests, forgetting dropout).
"""

from __future__ import annotations

import numpy as np
from statsmodels.stats.power import TTestIndPower

from ivig_kit.design.planning import t_test_power, t_test_sample_size
from ivig_kit.exercises import Exercise, register_exercises

DESIGN_EXERCISES = {
    "design.power_48": Exercise(
        question="Closed form: power of N = 48 (24 per arm, no dropout) for a difference of 20 TIS points, SD 22.3?",
        answer=lambda: t_test_power(20, 22.3, 48),
        tolerance=0.01,
        hint="TTestIndPower().power(effect_size=20 / 22.3, nobs1=24, alpha=0.05)",
        explanation="Cohen's d = 20 / 22.3 = 0.90; with 24 per arm, two-sided alpha 0.05: power 0.86.",
        mistakes={
            float(
                TTestIndPower().power(20 / 22.3, 48, 0.05)
            ): "nobs1 is per arm: 24, not 48 (48 per arm would give power 0.99).",
            float(
                TTestIndPower().power(20 / 22.3, 24, 0.05, alternative="larger")
            ): "That is one-sided (0.92); the plan is two-sided.",
        },
    ),
    "design.n_90_dropout": Exercise(
        question="Total N for 90% power at a difference of 20, SD 22.3, with 10% dropout (1:1, even N)? The kit's "
        "convention: divide the (unrounded) completers per arm by (1 - dropout), then round up.",
        answer=lambda: t_test_sample_size(20, 22.3, 0.9, 0.10),
        hint="Solve for completers per arm, divide by (1 - dropout), round up, times two.",
        explanation="27.1 completers per arm are needed; 27.1 / 0.9 = 30.1, so 31 per arm: N = 62. Rounding the "
        "completers up first (28 / 0.9 = 31.1, so 32 per arm: N = 64) is the other common convention.",
        accepted={
            2
            * int(
                np.ceil(np.ceil(TTestIndPower().solve_power(20 / 22.3, power=0.9, alpha=0.05)) / 0.9)
            ): "rounding the completers per arm up first, then inflating for dropout; the question's "
            "convention divides the unrounded 27.1 and gives 62"
        },
        mistakes={t_test_sample_size(20, 22.3, 0.9, 0.0): "That ignores dropout: inflate by 1 / (1 - 0.10)."},
    ),
    "design.mc_se": Exercise(
        question="400 simulated trials give power 0.80. What is the Monte Carlo standard error?",
        answer=lambda: float(np.sqrt(0.8 * 0.2 / 400)),
        tolerance=0.002,
        hint="A binomial proportion: sqrt(p (1 - p) / trials).",
        explanation="sqrt(0.8 x 0.2 / 400) = 0.02: the power is 0.80 +/- 0.04 (95%). Ten times the precision "
        "needs a hundred times the trials.",
        mistakes={
            0.0004: "That is the variance; take its square root.",
            0.4: "That is the SD of one trial's verdict; divide by sqrt(400).",
        },
    ),
}
register_exercises(DESIGN_EXERCISES)
