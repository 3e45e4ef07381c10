"""The ``ivig-kit`` command line: a thin shell over functions a notebook can call too."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ivig_kit.errors import InputError

SUMMARY_COLUMNS = ["site", "patient_id", "week", "physician_global_points", "patient_global_points", "mmt_points",
                   "haq_points", "enzyme_points", "extramuscular_points", "tis", "category"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ivig-kit",
        description="Score myositis visits with the 2016 ACR/EULAR Total Improvement Score and build per-site reports.",
        epilog="Input format: data/README.md. Each command has --help.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    tis = commands.add_parser(
        "tis", help="score every follow-up visit of a visit table",
        description="Score every follow-up visit against the patient's baseline (earliest week) and write one row "
                    "per follow-up visit: per-CSM percent change and points, TIS, category and flags.")
    tis.add_argument("input", type=Path, help="visit table (.csv, UTF-8, or .parquet)")
    tis.add_argument("--out", type=Path, help="write the scores to this CSV (default: print a summary)")
    tis.add_argument("--population", choices=["adult", "juvenile"], default="adult",
                     help="category thresholds: adult 20/40/60, juvenile 30/45/70 (default: adult)")
    tis.add_argument("--enzyme-normalisation", choices=["relative", "uln_range"], default="relative",
                     help="percent change of the most abnormal enzyme: relative to baseline (default) or to "
                          "a range of ULN x --uln-multiplier; not settled by the published sources")
    tis.add_argument("--uln-multiplier", type=float, default=10.0,
                     help="k in the ULN x k range for --enzyme-normalisation uln_range (default: 10)")
    tis.set_defaults(handler=_run_tis)
    return parser


def _run_tis(args) -> int:
    from ivig_kit.score import EnzymeNormalisation, total_improvement_score
    from ivig_kit.visits import read_visits

    normalisation = EnzymeNormalisation(args.enzyme_normalisation, args.uln_multiplier)
    visits = read_visits(args.input)
    scores = total_improvement_score(visits, population=args.population,
                                     enzyme_normalisation=normalisation, validate=False)
    if args.out:
        _write_atomically(scores, args.out)
        print(f"scored {len(scores)} follow-up visits of {visits.groupby(['site', 'patient_id']).ngroups} "
              f"patients -> {args.out}")
    else:
        print(scores[SUMMARY_COLUMNS].to_string(index=False))
    incomplete = int(scores["tis"].isna().sum())
    if incomplete:
        print(f"note: {incomplete} visit(s) have a missing core set measure; their tis is empty "
              f"(see the *_missing columns)", file=sys.stderr)
    return 0


def _write_atomically(frame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    frame.to_csv(partial, index=False)
    partial.replace(path)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except InputError as error:
        for line in str(error).splitlines():
            print(f"ivig-kit: error: {line}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as error:
        if isinstance(error, OSError) and error.filename is None:
            raise
        print(f"ivig-kit: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
