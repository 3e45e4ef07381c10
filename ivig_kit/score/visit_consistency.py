"""Checks across the rows of a visit table: one row per patient and week, one MMT scale per patient.

Done by sorting once (most exports are sorted by patient and week already, and then not at all);
also counts the patients, into ``attrs["n_patients"]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ivig_kit.score.problem_report import ProblemReport


def cross_row_problems(typed: pd.DataFrame, problems: ProblemReport) -> list[str]:
    """Duplicate (site, patient, week) rows and mmt_max changing within a patient, by sorting once."""
    lines = []
    source = problems.source
    site = pd.factorize(typed["site"])[0].astype(np.int64)
    patient_code = pd.factorize(typed["patient_id"])[0].astype(np.int64)
    week = typed["week"].to_numpy(dtype=float)
    known = (site >= 0) & (patient_code >= 0) & ~np.isnan(week)
    patient = np.where(known, site * (patient_code.max() + 2) + patient_code, -1)
    in_order = (patient[1:] > patient[:-1]) | ((patient[1:] == patient[:-1]) & (week[1:] >= week[:-1]))
    if known.all() and in_order.all():  # most exports are sorted by patient and week already: no sort needed
        order = np.arange(len(typed))
    else:
        order = np.lexsort((week, patient))
        order = order[known[order]]
    typed.attrs["n_patients"] = int(len(order) > 0) + int(np.count_nonzero(np.diff(patient[order])))
    sorted_patient, sorted_week = patient[order], week[order]
    same_visit = (sorted_patient[1:] == sorted_patient[:-1]) & (sorted_week[1:] == sorted_week[:-1])
    if same_visit.any():
        duplicated = np.zeros(len(typed), dtype=bool)
        duplicated[order[1:][same_visit]] = True
        duplicated[order[:-1][same_visit]] = True
        first = int(np.argmax(duplicated))
        same = (patient == patient[first]) & (week == week[first])
        more = int(duplicated.sum() - same.sum())
        lines.append(
            f"{source}: {problems.row_list(same)}, columns 'site', 'patient_id', 'week': duplicate visit "
            f"(site {typed['site'].iloc[first]!r}, patient {typed['patient_id'].iloc[first]!r}, week {week[first]:g}); "
            f"expected one row per patient and week" + (f" (and {more} more duplicated rows)" if more else "")
        )
        problems.count += int(duplicated.sum())
    if "mmt_max" in typed.columns:
        scale = typed["mmt_max"].to_numpy(dtype=float)[order]
        # compare each known scale with the previous known scale of the same patient
        has = ~np.isnan(scale)
        kept_patient, kept_scale = sorted_patient[has], scale[has]
        differs = (kept_patient[1:] == kept_patient[:-1]) & (kept_scale[1:] != kept_scale[:-1])
        if differs.any():
            changing_patients = np.unique(kept_patient[1:][differs])
            first_patient = patient[order[has][1:][differs][0]]
            same = patient == first_patient
            first = int(np.argmax(same))
            values = ", ".join(f"{v:g}" for v in pd.unique(typed["mmt_max"].to_numpy()[same]) if v == v)
            lines.append(
                f"{source}: {problems.row_list(same)}, column 'mmt_max': changes within patient "
                f"{typed['patient_id'].iloc[first]!r} of site {typed['site'].iloc[first]!r} ({values}); expected one "
                f"MMT scale per patient"
                + (f" (and {len(changing_patients) - 1} more patients)" if len(changing_patients) > 1 else "")
            )
            problems.count += int(np.isin(patient, changing_patients).sum())
    return lines
