"""Provenance and the machine-readable summary of one site's report (read back by the runner for the index)."""

from __future__ import annotations

import functools
import importlib.metadata
import json
import platform
import subprocess
from pathlib import Path

import pandas as pd

from ivig_kit.files import write_atomically
from ivig_kit.reports.content.json_values import json_ready
from ivig_kit.reports.content.metrics import responder_interval
from ivig_kit.reports.content.site import SiteReport

PACKAGES = ("ivig-kit", "pandas", "numpy", "scipy", "statsmodels", "matplotlib", "pyarrow", "papermill", "nbconvert")


# --- Provenance and summary ----------------------------------------------------------------------------------


def git_commit(directory: Path | str | None = None) -> str:
    """The git commit of the kit's checkout ("unknown" outside a git checkout).

    The kit's own commit (no ``directory``) is asked of git once per process: it describes the code this
    process imported, which a later edit of the checkout does not change.
    """
    if not directory:
        return _kit_commit()
    return _git_commit(Path(directory))


@functools.cache
def _kit_commit() -> str:
    return _git_commit(Path(__file__).resolve().parents[1])


def _git_commit(directory: Path) -> str:
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        )
        commit = result.stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(directory), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return commit + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions(packages=PACKAGES) -> dict[str, str]:
    """Python's version and each package's installed version ("not installed" when absent), looked up once per
    process (installed versions do not change under a running process; each look-up reads metadata files)."""
    return dict(_package_versions(tuple(packages)))


@functools.cache
def _package_versions(packages: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return tuple(versions.items())


def warm_kernel_caches() -> None:
    """Do once, in a process that forks report kernels (a batch's zygote), the work without data that every
    report would otherwise repeat in its own kernel: look up the package versions and the kit's git commit
    (cached per process), import what a report imports on first use (the JSON-schema check of the
    "since your last report" section, pandas' Parquet reader of the slices, the item rules of provenance),
    and make the report figures' empty axes and ticks (each kernel draws on its own copy)."""
    import jsonschema  # noqa: F401
    import pyarrow.dataset  # noqa: F401

    import ivig_kit.score.core_set  # noqa: F401
    from ivig_kit.reports.content.figures import make_figure_templates

    package_versions()
    git_commit()
    make_figure_templates()


def provenance(report: SiteReport) -> pd.DataFrame:
    """Where the numbers come from: input files and their SHA-256, rows, parameters, versions, git commit."""
    source = report.source
    rows = [
        ("site", report.site),
        ("run time (UTC)", report.run_time.strftime("%Y-%m-%d %H:%M:%S")),
        ("visit table", source["data_file"]),
        ("visit table SHA-256", source["data_sha256"]),
        ("this site's rows SHA-256", source["slice_sha256"]),
        ("visit table rows (pooled sites)", str(source["data_rows"])),
        ("visit table rows (this site)", str(len(report.visits))),
        ("sites / patients pooled", f"{source['data_sites']} / {source['data_patients']}"),
        (
            "sites under the minimum cell size",
            f"{source['sites_merged']} merged, {source['sites_left_out']} left out of pooled figures "
            f"(fewer than {source['min_cell_size']} patients)",
        ),
        ("data source", "; ".join(report.data_sources) or "not stated (no data_source column)"),
    ]
    if report.adverse_events_supplied:
        rows += [
            ("adverse-event table", source["adverse_events_file"]),
            ("adverse-event table SHA-256", source["adverse_events_sha256"]),
            (
                "adverse-event rows (pooled sites / this site)",
                f"{source['adverse_events_rows']} / {len(report.adverse_events)}",
            ),
        ]
    else:
        rows.append(("adverse-event table", "none supplied"))
    rows += [(f"parameter {name}", repr(_shown(name, value))) for name, value in report.parameters.as_dict().items()]
    rows += [
        ("visit pattern (weeks)", ", ".join(f"{w:g}" for w in report.visit_pattern)),
        ("responder definition", f"last complete TIS >= {report.threshold:g} ({report.population} threshold)"),
        ("enzyme normalisation", "relative to baseline (ivig_kit default)"),
    ]
    rows += item_rule_rows(report.visits)
    rows += [(f"version of {name}", version) for name, version in package_versions().items()]
    rows.append(("git commit of ivig-kit", git_commit()))
    return pd.DataFrame(rows, columns=["item", "value"]).set_index("item")


def item_rule_rows(visits: pd.DataFrame) -> list[tuple[str, str]]:
    """Which item rules made the totals, when the registry was built from items (``ivig-kit core-set``)."""
    from ivig_kit.score.core_set import RULE_COLUMNS

    return [
        (f"totals from items: {column.removesuffix('_rule')}", "; ".join(sorted(map(str, rules))))
        for column in RULE_COLUMNS
        if column in visits.columns and len(rules := visits[column].dropna().unique())
    ]


def _shown(name: str, value):
    """A parameter as provenance shows it: a path by its file name only (never a local or temporary folder)."""
    if name.endswith("_path") and isinstance(value, str) and value:
        return Path(value).name
    return value


def site_summary(report: SiteReport) -> dict:
    """The site's key figures for the batch index (JSON-ready; aggregates only, no patient identifiers)."""
    metrics = report.site_metrics
    low, high = responder_interval(metrics["responders"], metrics["patients_scored"])
    summary = {
        "site": report.site,
        "population": report.population,
        "patients": metrics["patients"],
        "visits": metrics["visits"],
        "last_week": metrics["last_week"],
        "data_cutoff": metrics.get("data_cutoff"),
        "patients_scored": metrics["patients_scored"],
        "responder_threshold": report.threshold,
        "responders": metrics["responders"],
        "responder_percent": metrics["responder_percent"],
        "responder_ci_low": 100 * low,
        "responder_ci_high": 100 * high,
        "mean_last_tis": metrics["mean_last_tis"],
        "confirmed_deteriorations": metrics["confirmed_deteriorations"],
        "adverse_events": metrics["adverse_events"] if report.adverse_events_supplied else None,
        "serious_adverse_events": metrics["serious_adverse_events"] if report.adverse_events_supplied else None,
        "thromboembolic_events": metrics["thromboembolic_events"] if report.adverse_events_supplied else None,
        "missing_csm_visits": metrics["missing_csm_visits"],
        "missed_visits": metrics["missed_visits"],
        "out_of_pattern_visits": metrics["out_of_pattern_visits"],
        "pooled_responder_percent": None
        if report.pooled_metrics["responder_percent"] is None
        else round(report.pooled_metrics["responder_percent"]),  # whole numbers: small cells across runs
        "synthetic": report.synthetic,
        "data_file": report.source["data_file"],
        "data_sha256": report.source["data_sha256"],
        "generated_at": report.run_time.isoformat(timespec="seconds"),
    }
    return json_ready(summary)


def write_site_summary(path, summary: dict) -> Path:
    """Write the summary as UTF-8 JSON atomically: a temporary file in the same folder, then ``os.replace``."""
    path = Path(path)
    text = json.dumps(summary, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    return write_atomically(path, text)
