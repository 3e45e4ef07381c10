"""The registry report's funnel: each site's responder proportion against the pooled one, with exact limits
(:mod:`ivig_kit.inference.funnel`) and a flag under the outlier policy, in the registry's order (a funnel is
not a league table). :func:`.figures.registry_funnel_figure` draws it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ivig_kit.inference.funnel import ALARM_LEVEL, ALERT_LEVEL, funnel_flag, funnel_limits


def funnel_table(events: pd.Series, n: pd.Series, target: float, phi: float = 1.0) -> pd.DataFrame:
    """Each site's proportion with its 95% and 99.8% limits around ``target`` and its flag (index: site).

    Sites without a scored patient get no limits and no flag. ``direction`` is "above" or "below" the
    target for a flagged site. Rows keep the registry's order (a funnel is not a league table).
    """
    rows = []
    for site, k, size in zip(n.index, events, n):
        row = {
            "site": site,
            "patients_scored": int(size),
            "responders": int(k),
            "percent": 100 * k / size if size else np.nan,
        }
        if size and np.isfinite(target):
            for level, key in ((ALERT_LEVEL, "95"), (ALARM_LEVEL, "99.8")):
                limits = funnel_limits(target, int(size), level, phi=phi)
                row[f"lower_{key}"], row[f"upper_{key}"] = 100 * limits.lower, 100 * limits.upper
            row["flag"] = funnel_flag(int(k), int(size), target, phi=phi)
        else:
            row.update({"lower_95": np.nan, "upper_95": np.nan, "lower_99.8": np.nan, "upper_99.8": np.nan, "flag": ""})
        row["direction"] = ("above" if k / size > target else "below") if row["flag"] else ""
        rows.append(row)
    columns = [
        "site",
        "patients_scored",
        "responders",
        "percent",
        "lower_95",
        "upper_95",
        "lower_99.8",
        "upper_99.8",
        "flag",
        "direction",
    ]
    return pd.DataFrame(rows, columns=columns).set_index("site")


def flagged_sites(funnel: pd.DataFrame) -> pd.DataFrame:
    """The sites outside a limit under the outlier policy, in the registry's order (empty when none)."""
    flagged = funnel[funnel["flag"] != ""]
    table = flagged[
        [
            "patients_scored",
            "responders",
            "percent",
            "lower_95",
            "upper_95",
            "lower_99.8",
            "upper_99.8",
            "flag",
            "direction",
        ]
    ]
    return table.rename(
        columns={
            "patients_scored": "n with a complete TIS",
            "percent": "% responders",
            "lower_95": "95% limit low (%)",
            "upper_95": "95% limit high (%)",
            "lower_99.8": "99.8% limit low (%)",
            "upper_99.8": "99.8% limit high (%)",
            "flag": "flag (policy)",
            "direction": "against the pooled %",
        }
    )
