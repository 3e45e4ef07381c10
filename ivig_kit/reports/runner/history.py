"""The output folder's dated history of every site's key figures (``history.json``), appended once per batch.

Kept in its own kit-written file beside the index (not inside ``index.json``), read back through
:func:`ivig_kit.reports.content.trends.read_history` (schema-checked, size-bounded). A batch appends one
run: the time, the data file and its SHA-256, the population, the minimum cell size, the merged group of
small sites that sites were shown (the constraint for small cells across runs,
:mod:`ivig_kit.reports.content.small_cells`), the registry's pooled responders, and every site with a report
in the folder (run now or re-used: an unchanged site keeps its history, with the time its report was made).
At most :data:`~ivig_kit.reports.content.trends.MAX_RUNS` runs are kept, and no more than fit in
:data:`~ivig_kit.reports.content.trends.MAX_HISTORY_BYTES` (the oldest are dropped), so the file stays readable.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from ivig_kit.files import write_atomically
from ivig_kit.reports.content.trends import (
    HISTORY_NAME,
    MAX_HISTORY_BYTES,
    MAX_RUNS,
    SITE_FIGURES,
    empty_history,
    read_history,
    validate_history,
)


def load_history(out_dir, force: bool = False) -> dict:
    """The folder's history (empty for a new folder); with ``force`` a broken history starts again empty."""
    from ivig_kit.reports.content.trends import HistoryError

    try:
        return read_history(Path(out_dir) / HISTORY_NAME)
    except HistoryError:
        if force:
            return empty_history()
        raise


def run_entry(batch, rows, run_at: datetime.datetime, merged_group: dict, pooled: dict) -> dict:
    """One run of the history: every site with a report (``rows``: the ledger's results) and its key figures.

    ``pooled``: the registry's pooled responders (``patients_scored``, ``responders``, ``responder_percent``).
    """
    sites = {}
    for result in rows:
        summary = result.summary or {}
        if not result.ok or not summary:
            continue
        figures = {key: _number(summary.get(key)) for key in SITE_FIGURES}
        sites[result.site] = {
            "made_at": result.made_at or run_at.isoformat(timespec="seconds"),
            "reused": bool(result.reused),
            **figures,
        }
    return {
        "run_at": run_at.isoformat(timespec="seconds"),
        "data_file": batch.data_path.name,
        "data_sha256": batch.data_sha256,
        "population": batch.population,
        "min_cell_size": batch.min_cell_size,
        "merged_group": {str(k): int(v) for k, v in merged_group.items()},
        "pooled": {k: _number(pooled.get(k)) for k in ("patients_scored", "responders", "responder_percent")},
        "sites": sites,
    }


def _number(value):
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    return int(value) if value.is_integer() else round(value, 4)


def append_run(out_dir, entry: dict, force: bool = False) -> Path:
    """Append ``entry`` to the folder's ``history.json`` (keeping the latest runs), checked before it is written."""
    history = load_history(out_dir, force=force)
    history["runs"] = [*history["runs"], entry][-MAX_RUNS:]
    validate_history(history)
    text = json.dumps(history, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    while len(text.encode("utf-8")) > MAX_HISTORY_BYTES and len(history["runs"]) > 1:  # stay readable
        history["runs"] = history["runs"][max(1, len(history["runs"]) // 10) :]
        text = json.dumps(history, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    path = Path(out_dir) / HISTORY_NAME
    write_atomically(path, text)
    return path
