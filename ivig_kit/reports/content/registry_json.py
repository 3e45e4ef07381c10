"""``registry.json``: the registry report's machine-readable summary, with its documented schema.

Written beside ``registry.html`` so a registry can feed its own dashboards: the funnel's target and
limits per site, the over-dispersion estimate, the outlier flags, per-site data quality, and each site's
trend across runs. :data:`REGISTRY_SCHEMA` (JSON Schema 2020-12) documents every field;
:func:`write_registry_summary` checks the summary against it before writing, and
:func:`read_registry_summary` checks a file on read.

Shape (format 1)::

    {"kind": "ivig-kit registry summary", "format": 1, "generated_at": ISO time,
     "data_file": str, "data_sha256": hex, "population": "adult" | "juvenile", "responder_threshold": num,
     "synthetic": bool, "outlier_policy": str,
     "target": {"responders": int, "patients_scored": int, "proportion": num | null},
     "overdispersion": {"phi": num | null, "p_value": num | null, "sites": int, "phi_used": num},
     "sites": [{"site": str, "patients": int, "patients_scored": int, "responders": int,
                "proportion": num | null, "limits_95": [low, high] | null, "limits_99_8": [low, high] | null,
                "flag": "" | "alert" | "alarm", "direction": "" | "above" | "below",
                "data_quality": {"missing_csm_visit_percent", "baseline_only", "floor_ceiling_percent",
                                 "late_visits", "missed_visits"},
                "per_patient_year": {"confirmed_deteriorations", "adverse_events"}}],
     "definition_2004": null | {"target": ..., "sites": [{"site", "patients_scored", "improved", "flag"}]},
     "trends": [{"site": str, "runs": [{"run_at", "patients_scored", "responders", "responder_percent"}]}]}

Proportions and limits are proportions (0-1), never percentages.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ivig_kit.files import write_atomically
from ivig_kit.inference.funnel import OUTLIER_POLICY
from ivig_kit.reports.content.trends import site_trends

REGISTRY_KIND = "ivig-kit registry summary"
REGISTRY_FORMAT = 1
MAX_REGISTRY_BYTES = 50_000_000

_NUM = {"type": ["number", "null"]}
_PROPORTION = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_COUNT = {"type": "integer", "minimum": 0}
_LIMITS = {
    "oneOf": [
        {"type": "null"},
        {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1}, "minItems": 2, "maxItems": 2},
    ]
}
_FLAG = {"enum": ["", "alert", "alarm"]}

#: JSON Schema (draft 2020-12) of ``registry.json``.
REGISTRY_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": [
        "kind",
        "format",
        "generated_at",
        "data_file",
        "data_sha256",
        "population",
        "responder_threshold",
        "synthetic",
        "outlier_policy",
        "target",
        "overdispersion",
        "sites",
        "definition_2004",
        "trends",
    ],
    "additionalProperties": False,
    "properties": {
        "kind": {"const": REGISTRY_KIND},
        "format": {"const": REGISTRY_FORMAT},
        "generated_at": {"type": "string"},
        "data_file": {"type": "string"},
        "data_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "population": {"enum": ["adult", "juvenile"]},
        "responder_threshold": {"type": "number"},
        "synthetic": {"type": "boolean"},
        "outlier_policy": {"type": "string"},
        "target": {
            "type": "object",
            "required": ["responders", "patients_scored", "proportion"],
            "properties": {"responders": _COUNT, "patients_scored": _COUNT, "proportion": _PROPORTION},
        },
        "overdispersion": {
            "type": "object",
            "required": ["phi", "p_value", "sites", "phi_used"],
            "properties": {
                "phi": _NUM,
                "p_value": _PROPORTION,
                "sites": _COUNT,
                "phi_used": {"type": "number", "minimum": 1},
            },
        },
        "sites": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "site",
                    "patients",
                    "patients_scored",
                    "responders",
                    "proportion",
                    "limits_95",
                    "limits_99_8",
                    "flag",
                    "direction",
                    "data_quality",
                    "per_patient_year",
                ],
                "properties": {
                    "site": {"type": "string"},
                    "patients": _COUNT,
                    "patients_scored": _COUNT,
                    "responders": _COUNT,
                    "proportion": _PROPORTION,
                    "limits_95": _LIMITS,
                    "limits_99_8": _LIMITS,
                    "flag": _FLAG,
                    "direction": {"enum": ["", "above", "below"]},
                    "data_quality": {
                        "type": "object",
                        "properties": {
                            "missing_csm_visit_percent": _NUM,
                            "baseline_only": _COUNT,
                            "floor_ceiling_percent": _NUM,
                            "late_visits": _COUNT,
                            "missed_visits": _COUNT,
                        },
                    },
                    "per_patient_year": {
                        "type": "object",
                        "properties": {"confirmed_deteriorations": _NUM, "adverse_events": _NUM},
                    },
                },
            },
        },
        "definition_2004": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["target", "sites"]}]},
        "trends": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["site", "runs"],
                "properties": {
                    "site": {"type": "string"},
                    "runs": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["run_at", "patients_scored", "responders", "responder_percent"],
                        },
                    },
                },
            },
        },
    },
}


def _number(value):
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else round(value, 6)


def _limits(row, key: str):
    low, high = row[f"lower_{key}"], row[f"upper_{key}"]
    return None if math.isnan(low) else [round(low / 100, 6), round(high / 100, 6)]


def registry_summary(report) -> dict:
    """The registry report as JSON-ready values matching :data:`REGISTRY_SCHEMA` (``report``: a
    :class:`~ivig_kit.reports.content.registry.RegistryReport`)."""
    sites = report.sites
    rows = []
    for site, row in report.funnel.iterrows():
        quality = sites.loc[site]
        rows.append(
            {
                "site": str(site),
                "patients": int(quality["patients"]),
                "patients_scored": int(row["patients_scored"]),
                "responders": int(row["responders"]),
                "proportion": _number(row["percent"] / 100),
                "limits_95": _limits(row, "95"),
                "limits_99_8": _limits(row, "99.8"),
                "flag": row["flag"],
                "direction": row["direction"],
                "data_quality": {
                    "missing_csm_visit_percent": _number(quality["missing_csm_visit_percent"]),
                    "baseline_only": int(quality["baseline_only"]),
                    "floor_ceiling_percent": _number(quality["floor_ceiling_percent"]),
                    "late_visits": int(quality["late_visits"]),
                    "missed_visits": int(quality["missed_visits"]),
                },
                "per_patient_year": {
                    "confirmed_deteriorations": _number(quality["deteriorations_per_patient_year"]),
                    "adverse_events": _number(quality["adverse_events_per_patient_year"])
                    if report.source["adverse_events_supplied"]
                    else None,
                },
            }
        )
    definition_2004 = None
    if report.funnel_2004 is not None:
        definition_2004 = {
            "target": _number(report.target_2004),
            "sites": [
                {
                    "site": str(site),
                    "patients_scored": int(r["patients_scored"]),
                    "improved": int(r["responders"]),
                    "flag": r["flag"],
                }
                for site, r in report.funnel_2004.iterrows()
            ],
        }
    trends = site_trends(report.history)
    trend_rows = (
        [
            {
                "site": str(site),
                "runs": [
                    {
                        "run_at": r.run_at,
                        "patients_scored": _number(r.patients_scored),
                        "responders": _number(r.responders),
                        "responder_percent": _number(r.responder_percent),
                    }
                    for r in group.itertuples()
                ],
            }
            for site, group in trends.groupby("site", sort=False)
        ]
        if not trends.empty
        else []
    )
    d = report.dispersion
    return {
        "kind": REGISTRY_KIND,
        "format": REGISTRY_FORMAT,
        "generated_at": report.run_time.isoformat(timespec="seconds"),
        "data_file": report.source["data_file"],
        "data_sha256": report.source["data_sha256"],
        "population": report.population,
        "responder_threshold": float(report.threshold),
        "synthetic": bool(report.synthetic),
        "outlier_policy": OUTLIER_POLICY,
        "target": {
            "responders": int(sites["responders"].sum()),
            "patients_scored": int(sites["patients_scored"].sum()),
            "proportion": _number(report.target),
        },
        "overdispersion": {
            "phi": _number(d.phi),
            "p_value": _number(d.p_value),
            "sites": int(d.sites),
            "phi_used": float(report.phi_used),
        },
        "sites": rows,
        "definition_2004": definition_2004,
        "trends": trend_rows,
    }


def check_registry_summary(summary: dict, name: str = "registry.json") -> dict:
    """Check a summary against :data:`REGISTRY_SCHEMA`; raise ``ValueError`` naming the first problem."""
    import jsonschema

    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(REGISTRY_SCHEMA).iter_errors(summary))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        raise ValueError(f"{name}: {where}: {error.message[:200]}")
    return summary


def write_registry_summary(path, summary: dict) -> Path:
    """Check ``summary`` against the schema, then write it as UTF-8 JSON atomically."""
    check_registry_summary(summary, Path(path).name)
    return write_atomically(Path(path), json.dumps(summary, ensure_ascii=False, indent=1, allow_nan=False) + "\n")


def read_registry_summary(path) -> dict:
    """Read ``registry.json`` with bounded cost and check it against :data:`REGISTRY_SCHEMA`."""
    path = Path(path)
    if path.stat().st_size > MAX_REGISTRY_BYTES:
        raise ValueError(f"{path.name}: larger than {MAX_REGISTRY_BYTES // 1_000_000} MB")
    return check_registry_summary(json.loads(path.read_text(encoding="utf-8")), path.name)
