"""Feedback over time: the output folder's dated history of every site's key figures, read and checked.

``ivig-kit reports`` appends one **run** to ``history.json`` in the output folder after every batch
(:mod:`ivig_kit.reports.runner.history` writes it). The file is the kit's own, but nothing read is
trusted: :func:`read_history` checks it against :data:`HISTORY_SCHEMA` with bounded cost (size, runs,
sites and text lengths capped) before any value is used. Two readers use it:

- the registry report (the coordinating centre's) shows each site's trend across runs
  (:func:`site_trends`);
- each site report shows "since your last report" (:func:`since_last_report`): its own figures then and
  now, the pooled figures it was shown then and now, and when the previous report was made. The batch
  passes the site's previous entry inside its pooled summary (key ``previous``), so a site's kernel never
  reads the history of other sites.

Schema (format 1), documented in ``docs`` form in :data:`HISTORY_SCHEMA`::

    {"kind": "ivig-kit registry history", "format": 1,
     "runs": [{"run_at": ISO time, "data_file": str, "data_sha256": hex, "population": str,
               "min_cell_size": int,
               "merged_group": {site: patients},      # the merged small sites shown in this run ({}: none)
               "pooled": {"patients_scored": int|null, "responders": int|null, "responder_percent": num|null},
               "sites": {site: {"made_at": ISO time, "reused": bool, "patients": int,
                                "patients_scored": int, "responders": int, "responder_percent": num|null,
                                "confirmed_deteriorations": int, "adverse_events": int|null,
                                "missing_csm_visits": int, "pooled_responder_percent": num|null}}}]}
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ivig_kit.errors import InputError
from ivig_kit.reports.content.tables import MISSING, format_value

HISTORY_NAME = "history.json"
HISTORY_KIND = "ivig-kit registry history"
HISTORY_FORMAT = 1
#: Bounds on what is read: the file's size, the runs kept (the oldest are dropped when appending), sites per run.
MAX_HISTORY_BYTES = 20_000_000
MAX_RUNS = 200
MAX_SITES = 2_000
MAX_TEXT = 300

#: The key figures kept per site and run (all from the site's own JSON summary).
SITE_FIGURES = (
    "patients",
    "patients_scored",
    "responders",
    "responder_percent",
    "confirmed_deteriorations",
    "adverse_events",
    "missing_csm_visits",
    "pooled_responder_percent",
)

_COUNT = {"type": ["integer", "null"], "minimum": 0, "maximum": 10_000_000}
_PERCENT = {"type": ["number", "null"], "minimum": 0, "maximum": 100}
_TEXT = {"type": "string", "maxLength": MAX_TEXT}
_TIME = {"type": "string", "maxLength": 40, "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?"}

#: JSON Schema (draft 2020-12) of ``history.json``.
HISTORY_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["kind", "format", "runs"],
    "additionalProperties": False,
    "properties": {
        "kind": {"const": HISTORY_KIND},
        "format": {"const": HISTORY_FORMAT},
        "runs": {
            "type": "array",
            "maxItems": MAX_RUNS,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "run_at",
                    "data_file",
                    "data_sha256",
                    "population",
                    "min_cell_size",
                    "merged_group",
                    "pooled",
                    "sites",
                ],
                "properties": {
                    "run_at": _TIME,
                    "data_file": _TEXT,
                    "data_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "population": {"enum": ["adult", "juvenile"]},
                    "min_cell_size": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
                    "merged_group": {
                        "type": "object",
                        "maxProperties": MAX_SITES,
                        "propertyNames": {"maxLength": MAX_TEXT},
                        "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 10_000_000},
                    },
                    "pooled": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"patients_scored": _COUNT, "responders": _COUNT, "responder_percent": _PERCENT},
                    },
                    "sites": {
                        "type": "object",
                        "maxProperties": MAX_SITES,
                        "propertyNames": {"maxLength": MAX_TEXT},
                        "additionalProperties": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["made_at"],
                            "properties": {
                                "made_at": _TIME,
                                "reused": {"type": "boolean"},
                                **{k: _PERCENT if k.endswith("percent") else _COUNT for k in SITE_FIGURES},
                            },
                        },
                    },
                },
            },
        },
    },
}


class HistoryError(InputError):
    """A ``history.json`` that is not the kit's, or is broken or too large; one line saying what and where."""


def empty_history() -> dict:
    return {"kind": HISTORY_KIND, "format": HISTORY_FORMAT, "runs": []}


def validate_history(record, name: str = HISTORY_NAME) -> dict:
    """Check a parsed history against :data:`HISTORY_SCHEMA`; return it, or raise :class:`HistoryError`."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(HISTORY_SCHEMA)
    error = next(iter(sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        raise HistoryError(
            f"{name}: {where}: {error.message[:200]}; expected an ivig-kit history (format "
            f"{HISTORY_FORMAT}): move the file away, or pass --force to start a new history"
        )
    return record


def read_history(path) -> dict:
    """Read and validate ``history.json`` (a missing file is an empty history).

    Raises
    ------
    HistoryError
        A file over :data:`MAX_HISTORY_BYTES`, not UTF-8 JSON, or not matching :data:`HISTORY_SCHEMA`.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return empty_history()
    if path.is_symlink() or not path.is_file():
        raise HistoryError(f"{path.name}: is not a regular file; the kit writes its history as a plain file")
    if path.stat().st_size > MAX_HISTORY_BYTES:
        raise HistoryError(f"{path.name}: larger than {MAX_HISTORY_BYTES // 1_000_000} MB; not the kit's history")
    try:
        record = json.loads(
            path.read_bytes().decode("utf-8"),
            parse_constant=lambda c: (_ for _ in ()).throw(ValueError(f"{c} is not JSON")),
        )
    except (UnicodeDecodeError, ValueError) as error:
        raise HistoryError(
            f"{path.name}: not UTF-8 JSON ({type(error).__name__}); move the file away, or pass "
            f"--force to start a new history"
        ) from None
    return validate_history(record, path.name)


def previous_entry(history: dict, site: str) -> dict | None:
    """The site's figures in the latest run that holds them, with ``run_at`` and the pooled figure it was shown."""
    for run in reversed(history["runs"]):
        if site in run["sites"]:
            return {**run["sites"][site], "run_at": run["run_at"], "data_file": run["data_file"]}
    return None


def published_groups(history: dict) -> list[dict]:
    """Every merged group of small sites shown in an earlier run, as ``{site: patients}`` (none: skipped)."""
    return [dict(run["merged_group"]) for run in history["runs"] if run["merged_group"]]


def site_trends(history: dict) -> pd.DataFrame:
    """One row per site and run: the run's time and the site's key figures (sites in order of first appearance)."""
    rows = [
        {
            "site": site,
            "run_at": run["run_at"],
            **{k: figures.get(k) for k in SITE_FIGURES},
            "made_at": figures["made_at"],
            "reused": figures.get("reused", False),
        }
        for run in history["runs"]
        for site, figures in run["sites"].items()
    ]
    columns = ["site", "run_at", *SITE_FIGURES, "made_at", "reused"]
    return pd.DataFrame(rows, columns=columns)


def trend_table(history: dict, last_runs: int = 6) -> pd.DataFrame:
    """Responders of each site at each of the last runs, as "k/n (p%)" (rows: sites; columns: run dates).

    Sites keep the order of the registry, never ranked; a site not in a run shows an empty cell.
    """
    trends = site_trends(history)
    if trends.empty:
        return pd.DataFrame()
    runs = list(dict.fromkeys(trends["run_at"]))[-last_runs:]
    trends = trends[trends["run_at"].isin(runs)]
    text = [
        f"{r:.0f}/{n:.0f} ({p:.0f}%)" if pd.notna(p) else f"{r:.0f}/{n:.0f}"
        for r, n, p in zip(trends["responders"], trends["patients_scored"], trends["responder_percent"])
    ]
    table = trends.assign(cell=text).pivot(index="site", columns="run_at", values="cell")  # noqa: PD010  (one text cell per site and run: nothing to aggregate)
    order = list(dict.fromkeys(trends["site"]))
    table = table.reindex(index=order, columns=runs)
    table.columns = [short_time(c) for c in table.columns]
    table.index.name = "site"
    return table.fillna("")


def short_time(stamp: str) -> str:
    return stamp[:16].replace("T", " ")


def since_last_report(current: dict, previous: dict | None) -> pd.DataFrame:
    """The site's own figures and the pooled figure, at its previous report and now.

    Parameters
    ----------
    current : dict
        The site's summary now (:func:`ivig_kit.reports.content.summary.site_summary`).
    previous : dict or None
        The site's entry of the previous run (:func:`previous_entry`), as the batch passes it.

    Returns
    -------
    DataFrame
        Rows: patients, patients scored, responders, responder %, confirmed deteriorations, adverse events,
        visits with a missing CSM, all sites pooled responder %; columns: "previous report", "this report",
        "change". Empty when there is no previous report.
    """
    if not previous:
        return pd.DataFrame()
    labels = {
        "patients": "Patients",
        "patients_scored": "Patients with a complete TIS",
        "responders": "Responders",
        "responder_percent": "Responders (%)",
        "confirmed_deteriorations": "Confirmed deteriorations",
        "adverse_events": "Adverse events",
        "missing_csm_visits": "Visits with a missing CSM value",
        "pooled_responder_percent": "All sites pooled: responders (%, whole numbers)",
    }
    rows = []
    for key, label in labels.items():
        then, now = previous.get(key), current.get(key)
        kind = "percent" if key.endswith("percent") else "count"
        if key == "pooled_responder_percent":  # sites see the pooled figure rounded (small cells across runs)
            then, now, kind = *(None if v is None else float(round(v)) for v in (then, now)), "count"
        change = None if then is None or now is None else now - then
        sign = "+" if change is not None and change > 0 else ""
        rows.append(
            (
                label,
                format_value(then, kind),
                format_value(now, kind),
                sign + format_value(change, kind) if change is not None else MISSING,
            )
        )
    return pd.DataFrame(rows, columns=["metric", "previous report", "this report", "change"]).set_index("metric")


#: JSON Schema of the previous-run entry the batch puts in a site's pooled summary (key ``previous``).
PREVIOUS_SCHEMA = {
    "type": "object",
    "required": ["made_at", "run_at", "data_file"],
    "properties": {
        **HISTORY_SCHEMA["properties"]["runs"]["items"]["properties"]["sites"]["additionalProperties"]["properties"],
        "run_at": _TIME,
        "data_file": _TEXT,
    },
    "additionalProperties": False,
}


def previous_from_pooled_summary(path) -> dict | None:
    """The site's entry of the previous run from its pooled summary (``None``: first report, or no summary)."""
    import jsonschema

    if not path:
        return None
    summary = json.loads(Path(path).read_text(encoding="utf-8"))
    previous = summary.get("previous") if isinstance(summary, dict) else None
    if previous is None:
        return None
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(PREVIOUS_SCHEMA).iter_errors(previous))
    if error is not None:
        raise HistoryError(f"{Path(path).name}: previous: {error.message[:200]}")
    return previous
