"""Small cells across runs: what a site may see about other sites, and when a merged group is held back.

Within one run, :func:`small_cell_groups` merges or leaves out sites under the
minimum cell size. Across runs, two pooled figures published before and after a small change of the merged
group would reveal the patients that changed by subtraction; :func:`merged_change_too_small` refuses such a
change (the merged group is then left out of every pooled figure of the run: complementary suppression),
and :func:`rounded_for_sites` rounds what sites see (percentages to whole numbers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def small_cell_groups(patients_by_site: dict, min_cell_size: int) -> tuple[list, list, list]:
    """Split sites into (shown, merged, left out) so no site under ``min_cell_size`` patients can be read off.

    Sites with fewer than ``min_cell_size`` patients are merged into one group when the group stays at
    least ``min_cell_size`` patients even without its largest member (so a member that subtracts its own
    figures still sees at least that many patients); otherwise they are left out of every pooled figure.

    >>> small_cell_groups({"A": 10, "B": 1}, 5)
    (['A'], [], ['B'])
    >>> small_cell_groups({"A": 10, "B": 3, "C": 3, "D": 3}, 5)
    (['A'], ['B', 'C', 'D'], [])
    """
    large = [s for s, n in patients_by_site.items() if n >= min_cell_size]
    small = [s for s, n in patients_by_site.items() if n < min_cell_size]
    sizes = [patients_by_site[s] for s in small]
    if small and sum(sizes) - max(sizes) >= min_cell_size:
        return large, small, []
    return large, [], small


def merged_change_too_small(group: dict, published: list[dict], min_cell_size: int) -> bool:
    """Whether the merged group ``{site: patients}`` differs from one shown in an earlier run by 1 to
    ``min_cell_size - 1`` patients (complementary suppression across runs: the difference of two pooled
    figures would then describe fewer patients than the minimum cell size).

    >>> merged_change_too_small({"B": 4, "C": 4, "D": 4}, [{"S": 2, "B": 4, "C": 4, "D": 4}], 5)
    True
    >>> merged_change_too_small({"B": 4, "C": 4, "D": 4}, [{"B": 4}], 5)  # 8 patients changed: shown
    False
    """
    for earlier in published:
        change = sum(abs(group.get(s, 0) - earlier.get(s, 0)) for s in set(group) | set(earlier))
        if 0 < change < min_cell_size:
            return True
    return False


#: Decimals of what a site sees about other sites (rounding hides the last patient of a pooled difference).
SHARED_DECIMALS = {"percent": 0, "per_patient": 2, "mean_last_tis": 1, "visits_per_patient": 1}


def rounded_for_sites(metrics: dict) -> dict:
    """Metrics about other sites as a site sees them: percentages to whole numbers, rates per patient to two
    decimals, the mean last TIS and visits per patient to one (:data:`SHARED_DECIMALS`); counts unchanged."""
    shown = dict(metrics)
    for key, value in metrics.items():
        if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool) or pd.isna(value):
            continue
        if key.endswith("_percent"):
            shown[key] = round(float(value), SHARED_DECIMALS["percent"])
        elif key.endswith("_per_patient") and key != "visits_per_patient":
            shown[key] = round(float(value), SHARED_DECIMALS["per_patient"])
        elif key in ("mean_last_tis", "visits_per_patient"):
            shown[key] = round(float(value), SHARED_DECIMALS[key])
    return shown


def hold_back_merged(merged: list, left_out: list, patients, published: list[dict], min_cell_size: int):
    """(merged, left out, held back): the merged sites moved to the left-out ones when the group changed by
    fewer patients than ``min_cell_size`` since a group shown earlier (``patients``: patients by site)."""
    group = {s: int(patients[s]) for s in merged}
    if merged and merged_change_too_small(group, list(published), min_cell_size):
        return [], [*left_out, *merged], True
    return merged, left_out, False


def merged_group(aggregates) -> dict:
    """The merged small sites shown in a run and their patients (``{}``: none), as the history keeps them."""
    return {s: int(aggregates.metrics.at[s, "patients"]) for s in aggregates.merged}
