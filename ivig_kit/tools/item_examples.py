"""The item-level example and the data dictionary of the item columns (``data/``).

``data/example_items.csv`` is ``data/pilot_reconstructed_visits.csv`` (a synthetic, reconstructed
cohort) as a case report form holds it: a Kendall grade for each of the 26 muscle groups of the Total
MMT (0-260) and the 20 HAQ answers with aids and help, drawn by a seeded generator so that the
kit's default rules (:class:`~ivig_kit.score.core_set.ItemRules`: HAQ-DI standard aid rule, divided
by the categories answered) give back exactly the totals of the visit table; the VAS, enzymes and
every other column are copied. ``ivig-kit core-set`` + ``ivig-kit tis`` therefore score it to the
same TIS as the totals (pinned in ``tests/instruments/test_examples.py``). Some categories scored 2
come from a 0 or 1 answer raised by an aid, so HAQ-ADI differs on the same file, as it should.

``data/item_dictionary.csv`` is the REDCap-style data dictionary of every canonical item column,
written from :data:`ivig_kit.instruments.items.ITEM_COLUMNS`.

Regenerate both with ``python -m ivig_kit.tools.item_examples``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from ivig_kit.instruments.items import (
    HAQ_CATEGORIES,
    ITEM_COLUMNS,
    KENDALL_MAX,
    MMT8_PAIRED,
    MMT24_AXIAL_EXTRA,
    MMT24_PAIRED_EXTRA,
    MMT_SCALE_COLUMN,
    SIDES,
    aid_column,
    help_column,
    mmt8_column,
    mmt24_column,
    questionnaire_columns,
)
from ivig_kit.resources import data_path

DEFAULT_SEED = 23
TOTALS_FILE = "pilot_reconstructed_visits.csv"
ITEMS_FILE = "example_items.csv"
DICTIONARY_FILE = "item_dictionary.csv"
TOTAL_MMT_COLUMNS = (
    mmt8_column("neck_flexors"),
    *(mmt24_column(g) for g in MMT24_AXIAL_EXTRA),
    *(mmt8_column(g, s) for g in MMT8_PAIRED for s in SIDES),
    *(mmt24_column(g, s) for g in MMT24_PAIRED_EXTRA for s in SIDES),
)


def split_total(total: int, parts: int, cap: int, rng: np.random.Generator) -> np.ndarray:
    """``parts`` whole numbers in 0-``cap`` summing to ``total``, spread at random (a seeded draw)."""
    if not 0 <= total <= parts * cap:
        raise ValueError(f"cannot split {total} into {parts} parts of 0-{cap}")
    values = np.full(parts, total // parts)
    values[rng.choice(parts, total % parts, replace=False)] += 1
    for _ in range(parts):  # move single points between parts, staying within 0-cap
        give, take = rng.choice(parts, 2, replace=False)
        if values[give] > 0 and values[take] < cap:
            values[give] -= 1
            values[take] += 1
    return values


def haq_answers(index: float, rng: np.random.Generator) -> dict[str, float]:
    """HAQ answers, aids and help whose standard HAQ-DI (all 8 categories answered) is ``index`` (k/8)."""
    points = round(index * len(HAQ_CATEGORIES))
    categories = split_total(points, len(HAQ_CATEGORIES), 3, rng)
    answers = {}
    for (category, columns), score in zip(questionnaire_columns("haq", HAQ_CATEGORIES).items(), categories):
        aided = score == 2 and rng.random() < 0.4  # a 0 or 1 answer that an aid or help raises to 2
        top = int(rng.integers(0, 2)) if aided else int(score)
        items = rng.integers(0, top + 1, size=len(columns))
        items[rng.integers(len(columns))] = top
        answers.update({c: float(v) for c, v in zip(columns, items)})
        aid = aid_column("haq", category)
        use_help = aided and (aid is None or rng.random() < 0.5)
        if aid:
            answers[aid] = float(aided and not use_help)
        answers[help_column("haq", category)] = float(use_help)
    return answers


def item_level_visits(totals: pd.DataFrame, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """The item-level form of a visit table on the Total MMT scale (``mmt_max`` 260) with HAQ on the 1/8 grid."""
    if not (totals["mmt_max"].dropna() == 260).all():
        raise ValueError("the example generator writes Total MMT grades: every mmt_max must be 260")
    rng = np.random.default_rng(seed)
    rows = []
    for mmt, haq in zip(totals["mmt"].to_numpy(dtype=float), totals["haq"].to_numpy(dtype=float)):
        row: dict[str, float] = {}
        if not np.isnan(mmt):
            row.update(
                zip(TOTAL_MMT_COLUMNS, split_total(int(mmt), len(TOTAL_MMT_COLUMNS), KENDALL_MAX, rng).astype(float))
            )
        if not np.isnan(haq):
            row.update(haq_answers(haq, rng))
        rows.append(row)
    order = [c.column for c in ITEM_COLUMNS if c.column in set(TOTAL_MMT_COLUMNS) or c.instrument == "haq"]
    items = pd.DataFrame(rows, columns=order, index=totals.index)
    kept = totals.drop(columns=["mmt", "mmt_max", "haq"])
    kept.insert(list(kept.columns).index("week") + 1, MMT_SCALE_COLUMN, "total")
    return pd.concat([kept, items], axis=1)


def item_dictionary() -> pd.DataFrame:
    """The REDCap-style data dictionary: column, instrument, item, range, label (one row per item column)."""
    return pd.DataFrame(
        {
            "column": [c.column for c in ITEM_COLUMNS],
            "instrument": [c.instrument for c in ITEM_COLUMNS],
            "item": [c.item for c in ITEM_COLUMNS],
            "range": [f"{c.low:g}-{c.high:g}" + (" (whole numbers)" if c.whole else "") for c in ITEM_COLUMNS],
            "label": [c.label for c in ITEM_COLUMNS],
        }
    )


def write_item_examples(folder=None, seed: int = DEFAULT_SEED) -> list[Path]:
    """Write ``example_items.csv`` and ``item_dictionary.csv`` to ``folder`` (default: the kit's data/)."""
    folder = Path(folder) if folder else data_path(TOTALS_FILE).parent
    totals = pd.read_csv(data_path(TOTALS_FILE), dtype={"site": str, "patient_id": str})
    written = []
    for name, table in ((ITEMS_FILE, item_level_visits(totals, seed)), (DICTIONARY_FILE, item_dictionary())):
        path = folder / name
        table.to_csv(path, index=False, float_format="%g", lineterminator="\n")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ivig_kit.tools.item_examples",
        description="Regenerate data/example_items.csv and data/item_dictionary.csv.",
    )
    parser.add_argument("--out", help="folder to write to (default: the kit's data/)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    for path in write_item_examples(args.out, args.seed):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
