"""The ``ivig-kit`` command line: a thin shell over functions a notebook can call too."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ivig_kit import __version__
from ivig_kit.errors import InputError
from ivig_kit.files import atomic_output
from ivig_kit.score.measures import POPULATIONS

SUMMARY_COLUMNS = ["site", "patient_id", "week", "physician_global_points", "patient_global_points", "mmt_points",
                   "haq_points", "enzyme_points", "extramuscular_points", "tis", "category"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ivig-kit",
        description="Score myositis visits with the 2016 ACR/EULAR Total Improvement Score and build per-site reports.",
        epilog="Input format: data/README.md. Each command has --help.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    tis = commands.add_parser(
        "tis", help="score every follow-up visit of a visit table",
        description="Score every follow-up visit against the patient's baseline (earliest week) and write one row "
                    "per follow-up visit: per-CSM percent change and points, TIS, category and flags.")
    tis.add_argument("input", type=Path, help="visit table (.csv, UTF-8, or .parquet)")
    tis.add_argument("--out", type=Path, help="write the scores to this CSV (default: print a summary)")
    tis.add_argument("--population", choices=POPULATIONS, default="adult",
                     help="category thresholds: adult 20/40/60, juvenile 30/45/70 (default: adult)")
    tis.add_argument("--enzyme-normalisation", choices=["relative", "uln_range"], default="relative",
                     help="percent change of the most abnormal enzyme: relative to baseline (default) or to "
                          "a range of ULN x --uln-multiplier; not settled by the published sources")
    tis.add_argument("--uln-multiplier", type=float, default=10.0,
                     help="k in the ULN x k range for --enzyme-normalisation uln_range (default: 10)")
    tis.set_defaults(handler=_run_tis)

    reports = commands.add_parser(
        "reports", help="run the site-report notebook for every site and write HTML reports with an index",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Validate a multi-site visit table once, then run the site-report notebook through\n"
                    "papermill for each site, in parallel. Per site: a self-contained HTML report (code hidden,\n"
                    "images embedded, table of contents), the executed notebook and a JSON summary; and\n"
                    "DIR/index.html listing every site with its status, key figures and links.",
        epilog="The visit table and the adverse-event table are read, validated and scored once; each site's\n"
               "kernel gets only its own rows and a pooled summary of the other sites in which sites with\n"
               "fewer than --min-cell-size patients are merged or left out.\n"
               "Files are named after a safe slug of the site plus a short hash (zurich-4251685e.html).\n"
               "Every file is written under a temporary name and renamed into place: a failed site keeps\n"
               "its earlier report, and its error is shown in the index. DIR/index.json is the folder's\n"
               "ledger: a --sites run updates those sites' rows and keeps the others; a site whose data,\n"
               "parameters, notebook and kit version are unchanged is re-used (--force runs it again).\n"
               "One batch at a time per DIR (DIR/.ivig-kit.lock).\n"
               "Exit status: 0 all sites ok, 1 some site failed, 2 unusable input or DIR busy (nothing run),\n"
               "130/143 stopped by Ctrl-C/SIGTERM (the index marks the unfinished sites).\n\n"
               "example:\n  ivig-kit reports data/demo_registry.csv --out reports --jobs 2")
    reports.add_argument("data", type=Path, metavar="DATA",
                         help="visit table with all sites (.csv, UTF-8, or .parquet)")
    reports.add_argument("--out", type=Path, required=True, metavar="DIR",
                         help="folder for the reports and index.html (created if missing)")
    reports.add_argument("--sites", nargs="+", metavar="SITE",
                         help="report only these sites (exact names, kept as text: 007 stays 007; default: all)")
    reports.add_argument("--jobs", type=_positive_int, default=2, metavar="N",
                         help="sites run at the same time, one worker process each, at most the CPUs available "
                              "(default: 2)")
    reports.add_argument("--scheduler", metavar="ADDRESS",
                         help="run the sites on this dask.distributed scheduler (e.g. tcp://host:8786) "
                              "instead of local processes; --jobs is then ignored; workers need no shared files")
    reports.add_argument("--notebook", type=Path, metavar="PATH",
                         help="report notebook to run (default: notebooks/site_report.ipynb of the kit)")
    reports.add_argument("--population", choices=POPULATIONS, default="adult",
                         help="TIS category thresholds: adult 20/40/60, juvenile 30/45/70 (default: adult)")
    reports.add_argument("--adverse-events", metavar="PATH",
                         help="adverse-event table (default: the one beside DATA, e.g. demo_adverse_events.csv "
                              "for demo_registry.csv, if it exists; '' for none)")
    reports.add_argument("--params", type=Path, metavar="FILE",
                         help="per-site parameters: CSV or YAML, one row per site, columns named after the "
                              "notebook's parameters, a '*' row for defaults (e.g. site,population)")
    reports.add_argument("--min-cell-size", type=_positive_int, default=5, metavar="N",
                         help="other sites with fewer patients are merged or left out of the pooled figures "
                              "each report shows (default: 5)")
    reports.add_argument("--cell-timeout", type=_positive_int, default=600, metavar="SECONDS",
                         help="longest a cell of a site's notebook may run before the site fails (default: 600)")
    reports.add_argument("--force", action="store_true",
                         help="run every site even if its inputs are unchanged, and write into a folder holding "
                              "an index.html the kit did not make")
    reports.add_argument("--quiet", action="store_true", help="no progress bar (the per-site lines remain)")
    reports.set_defaults(handler=_run_reports)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _run_reports(args) -> int:
    import signal

    from ivig_kit.reports.batch import BatchInterrupted, capped_jobs, prepare_batch, run_batch

    def stop(signum, frame):  # until the batch takes over: stop quietly, nothing started yet
        raise BatchInterrupted(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        batch = prepare_batch(args.data, args.out, sites=args.sites, notebook=args.notebook,
                              population=args.population,
                              adverse_events_path="auto" if args.adverse_events is None else args.adverse_events,
                              min_cell_size=args.min_cell_size, params_path=args.params, force=args.force,
                              cell_timeout_s=args.cell_timeout)
        jobs = args.jobs
        if not args.scheduler:
            jobs, note = capped_jobs(args.jobs)
            if note:
                print(f"ivig-kit: note: {note}", file=sys.stderr)
        adverse = batch.adverse_events_path.name if batch.adverse_events_path else "none"
        where = f"the dask scheduler at {args.scheduler}" if args.scheduler else f"{jobs} process(es)"
        print(f"{len(batch.tasks)} site(s) of {batch.data_path.name} (adverse events: {adverse}) on {where}",
              flush=True)
        outcome = run_batch(batch, jobs=jobs, scheduler=args.scheduler, progress=not args.quiet)
    except BatchInterrupted as stopped:
        done = "no site finished" if stopped.result is None else \
            f"{sum(r.ok for r in stopped.result.results)} of {len(stopped.result.results)} site(s) finished; " \
            f"the index marks the others"
        print(f"ivig-kit: stopped by {signal.Signals(stopped.signum).name}: {done}", file=sys.stderr, flush=True)
        return 128 + stopped.signum
    failed = outcome.failed
    reused = f" ({len(outcome.reused)} re-used, inputs unchanged)" if outcome.reused else ""
    print(f"{len(outcome.results) - len(failed)} ok{reused}, {len(failed)} failed in {outcome.seconds:.1f} s")
    print(f"index: {outcome.index_path}")
    return 1 if failed else 0


def _run_tis(args) -> int:
    from ivig_kit.score.engine import total_improvement_score
    from ivig_kit.score.measures import EnzymeNormalisation
    from ivig_kit.score.visits import read_visits

    normalisation = EnzymeNormalisation(args.enzyme_normalisation, args.uln_multiplier)
    visits = read_visits(args.input)
    scores = total_improvement_score(visits, population=args.population,
                                     enzyme_normalisation=normalisation, validate=False)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(args.out) as partial:
            scores.to_csv(partial, index=False)
        print(f"scored {len(scores)} follow-up visits of {visits.groupby(['site', 'patient_id']).ngroups} "
              f"patients -> {args.out}")
    else:
        print(scores[SUMMARY_COLUMNS].to_string(index=False))
    incomplete = int(scores["tis"].isna().sum())
    if incomplete:
        print(f"note: {incomplete} visit(s) have a missing core set measure; their tis is empty "
              f"(see the *_missing columns)", file=sys.stderr)
    return 0


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
