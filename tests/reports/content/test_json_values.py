"""The one converter of the report's JSON files: plain values, floats kept exactly, null for what JSON
cannot hold."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ivig_kit.reports.content.json_values import json_ready


def test_numpy_and_pandas_scalars_become_plain_python_values_of_the_same_kind():
    value = json_ready(
        {
            "n": np.int64(3),
            "ok": np.bool_(False),
            "share": np.float32(0.5),
            7: [np.int8(1), (2.5,)],
            "plain": True,
            "text": "Zürich",
        }
    )
    assert value == {"n": 3, "ok": False, "share": 0.5, "7": [1, [2.5]], "plain": True, "text": "Zürich"}
    assert type(value["n"]) is int and type(value["ok"]) is bool and type(value["share"]) is float
    assert type(value["plain"]) is bool  # a bool is not turned into 1


@pytest.mark.parametrize("missing", [float("nan"), np.nan, np.float64("inf"), -np.inf, pd.NA, pd.NaT])
def test_what_json_cannot_hold_becomes_null(missing):
    assert json_ready([missing]) == [None]
    json.dumps(json_ready({"x": missing}), allow_nan=False)  # writable as strict JSON


@pytest.mark.parametrize("number", [100 / 3, 0.1 + 0.2, 2 / 3 * 100, 1e-12, 123456.789012345])
def test_floats_are_kept_exactly_so_the_json_reads_back_as_the_same_number(number):
    """No rounding: the pooled summary a kernel reads must give the figures the batch computed, and
    json.dumps already writes the shortest text that reads back as the same float."""
    text = json.dumps(json_ready({"x": np.float64(number)}), allow_nan=False)
    assert json.loads(text)["x"] == number
    assert len(text) <= len('{"x": }') + 24  # and no longer than the float needs


def test_the_site_summary_and_the_pooled_summary_use_it(report):
    from ivig_kit.reports.content import site, summary

    written = summary.site_summary(report)
    assert written == json_ready(written)
    percent = report.site_metrics["responder_percent"]
    assert written["responder_percent"] == percent  # exactly the computed figure, not rounded to 4 decimals
    pooled = json.loads(json.dumps(site.pooled_summary(_aggregates(report), report.site), allow_nan=False))
    assert pooled["site"] == report.site


def _aggregates(report):
    from ivig_kit.reports.content import site
    from ivig_kit.score.engine import total_improvement_score

    scores = total_improvement_score(report.visits, validate=False)
    return site.registry_aggregates(report.visits, scores, report.adverse_events, report.population, 1)
