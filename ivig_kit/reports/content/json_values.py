"""Plain JSON values from numpy and pandas ones: the one converter of the report's JSON files (the pooled
summary a site's kernel reads and the site summary the batch reads back).

Floats are kept exactly, not rounded: :func:`json.dumps` writes the shortest text that reads back as the same
float, so a reader of the JSON gets the very number the report computed (the pooled figures a kernel reads
must equal those the batch computed). Rounding is for display, which :mod:`.tables` does. A value that JSON
cannot hold (NaN, infinity, ``pd.NA``, ``NaT``) becomes ``null``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def json_ready(value):
    """``value`` with every numpy or pandas scalar inside it (dicts, lists, tuples) as a plain Python one.

    >>> json_ready({"n": np.int64(3), "share": np.float64(0.1), "ok": np.bool_(True), "gap": float("nan")})
    {'n': 3, 'share': 0.1, 'ok': True, 'gap': None}
    """
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if value is pd.NA or value is pd.NaT:
        return None
    return value
