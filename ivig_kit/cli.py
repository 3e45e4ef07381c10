"""The ``ivig-kit`` command line: a thin shell over functions a notebook can call too."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ivig_kit.errors import InputError, Interrupted


class _Version(argparse.Action):
    """``--version``: the installed version, read only when asked for (``ivig-kit reports`` starts sooner)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from ivig_kit import __version__

        print(f"{parser.prog} {__version__}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    from ivig_kit.reports.content.parameters import MIN_CELL_SIZE
    from ivig_kit.reports.runner.tasks import CELL_TIMEOUT_S
    from ivig_kit.score.file_kinds import CSV_SUFFIXES, EXCEL_SUFFIXES, OUTPUT_FORMATS, PARQUET_SUFFIXES
    from ivig_kit.score.measures import ENZYME_ULN_MULTIPLIER_PRESETS, POPULATIONS, ULN_MULTIPLIER_MAX

    inputs = f"CSV {'/'.join(CSV_SUFFIXES)}, Parquet {'/'.join(PARQUET_SUFFIXES)} or Excel {'/'.join(EXCEL_SUFFIXES)}"
    outputs = ", ".join(OUTPUT_FORMATS)

    parser = argparse.ArgumentParser(
        prog="ivig-kit",
        description="Score myositis visits with the 2016 ACR/EULAR Total Improvement Score and build per-site reports.",
        epilog="Input format: data/README.md. Each command has --help.",
    )
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    tis = commands.add_parser(
        "tis",
        help="score every follow-up visit of a visit table",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Score every follow-up visit against the patient's baseline (earliest week) and write one row\n"
        "per follow-up visit: site, patient_id, week, tis, category, then each core set measure's\n"
        "points, percent change and flags. A measure whose column is absent is missing (flagged).",
        epilog=f"Input: {inputs}.\nCSV: comma, semicolon or tab separated and the decimal mark are detected; UTF-8,\n"
        "UTF-16 with BOM, or --encoding; format in data/README.md.\n"
        "Every problem of a table is reported at once (file, rows, lines, column, expected).\n"
        "Exit status: 0 scored, 1 the output could not be written, 2 unusable input or options.\n\n"
        "examples:\n"
        "  ivig-kit tis data/example_visits.csv --out scores.xlsx\n"
        "  ivig-kit tis export.csv --mapping data/example_mapping.yaml --out scores.parquet\n"
        "  ivig-kit tis visits.csv --enzyme-preset r-implementation --out scores.csv",
    )
    tis.add_argument("input", type=Path, help=f"visit table: {inputs}")
    tis.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help=f"write the scores to FILE: {outputs} (default: print a summary); never an input, a symlink or a device",
    )
    tis.add_argument(
        "--population",
        choices=POPULATIONS,
        default="adult",
        help="category thresholds: adult 20/40/60, juvenile 30/45/70 (default: adult)",
    )
    enzyme = tis.add_argument_group("enzyme normalisation (not settled by the published sources)")
    enzyme.add_argument(
        "--enzyme-normalisation",
        choices=["relative", "uln_range"],
        help="percent change of the most abnormal enzyme: relative to its baseline (default), or "
        "to a range of ULN x k (the default when --uln-multiplier or --enzyme-preset is given)",
    )
    enzyme.add_argument(
        "--uln-multiplier",
        action="append",
        metavar="K|ENZYME=K",
        type=_multiplier,
        help=f"k of the ULN x k range: one for all enzymes (default 10) or per enzyme, e.g. "
        f"--uln-multiplier ck=15 --uln-multiplier alt=3; 0 < k <= {ULN_MULTIPLIER_MAX:g}",
    )
    enzyme.add_argument(
        "--enzyme-preset",
        choices=sorted(ENZYME_ULN_MULTIPLIER_PRESETS),
        help="per-enzyme multipliers of an R script of the TIS we could not trace to a source: CK 15, "
        "ALT/AST/LDH 3; "
        "aldolase 3 is the kit's choice (a convention, not a rule)",
    )
    worse = tis.add_argument_group("confirmed deterioration (ProDERM definition; the source leaves these open)")
    worse.add_argument(
        "--deterioration-reading",
        choices=["range", "baseline"],
        default="range",
        help="'worse by 20%%/30%%' as percent of the scale's range (default: the kit's reading) or "
        "of the baseline value",
    )
    worse.add_argument(
        "--deterioration-confirmation",
        choices=["any", "same"],
        default="any",
        help="two consecutive visits meeting any criterion each (default: the kit's reading) or the "
        "same criterion at both",
    )
    reading = tis.add_argument_group("reading real-world files")
    reading.add_argument("--sep", metavar="CHAR", help="field separator: ',', ';', 'tab' (default: detected)")
    reading.add_argument(
        "--decimal", choices=[".", ","], metavar="MARK", help="decimal mark, '.' or ',' (default: detected)"
    )
    reading.add_argument(
        "--encoding",
        metavar="NAME",
        help="text encoding, e.g. latin-1, cp1252, utf-16 (default: UTF-8, or UTF-16 with a BOM)",
    )
    reading.add_argument(
        "--vas-unit",
        choices=["cm", "mm"],
        default="cm",
        help="unit of the three VAS columns in the file: cm (0-10, default) or mm (0-100)",
    )
    reading.add_argument(
        "--mapping",
        type=Path,
        metavar="YAML",
        help="column mapping: source column -> kit column (and unit), constants; see data/example_mapping.yaml",
    )
    reading.add_argument("--sheet", metavar="NAME", help="sheet of an .xlsx input (default: the first)")
    _add_item_rule_arguments(tis)
    tis.set_defaults(handler=_run_tis)
    _add_core_set_parser(commands)

    reports = commands.add_parser(
        "reports",
        help="run the site-report notebook for every site and write HTML reports with an index",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Validate a multi-site visit table once, then run the site-report notebook through\n"
        "papermill for each site, in parallel. Per site: a self-contained HTML report (code hidden,\n"
        "images embedded, table of contents), the executed notebook and a JSON summary; and\n"
        "DIR/index.html listing every site with its status, key figures and links; then the\n"
        "coordinating centre's DIR/registry.html (and registry.json), with trends from DIR/history.json.",
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
        "example:\n  ivig-kit reports data/demo_registry.csv --out reports --jobs 2",
    )
    reports.add_argument("data", type=Path, metavar="DATA", help=f"visit table with all sites: {inputs}")
    reports.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="folder for the reports and index.html (created if missing)",
    )
    reports.add_argument(
        "--sites",
        nargs="+",
        metavar="SITE",
        help="report only these sites (exact names, kept as text: 007 stays 007; a near miss is "
        "suggested; default: all)",
    )
    reports.add_argument(
        "--jobs",
        type=_positive_int,
        default=2,
        metavar="N",
        help="sites run at the same time, one worker process each, at most the CPUs available (default: 2)",
    )
    reports.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the sites on this dask.distributed scheduler instead of local processes; "
        "every site's patient rows and the notebook are sent to the cluster: tls://host:8786 "
        "encrypts them (certificates in dask's config), tcp://host:8786 sends them in plain "
        "text; use only a cluster the registry's data may go to. --jobs is then ignored",
    )
    reports.add_argument(
        "--notebook",
        type=Path,
        metavar="PATH",
        help="report notebook to run (default: notebooks/site_report.ipynb of the kit)",
    )
    reports.add_argument(
        "--population",
        choices=POPULATIONS,
        default="adult",
        help="TIS category thresholds: adult 20/40/60, juvenile 30/45/70 (default: adult)",
    )
    reports.add_argument(
        "--adverse-events",
        metavar="PATH",
        help="adverse-event table (default: the one beside DATA, e.g. demo_adverse_events.csv "
        "for demo_registry.csv, if it exists; '' for none)",
    )
    reports.add_argument(
        "--pdf",
        action="store_true",
        help="also print each report to <slug>.pdf (A4, page numbers) with headless Chromium",
    )
    reports.add_argument(
        "--params",
        type=Path,
        metavar="FILE",
        help="per-site parameters: CSV or YAML, one row per site, columns named after the "
        "notebook's parameters, a '*' row for defaults (e.g. site,population)",
    )
    reports.add_argument(
        "--min-cell-size",
        type=_positive_int,
        default=MIN_CELL_SIZE,
        metavar="N",
        help="other sites with fewer patients are merged or left out of the pooled figures "
        "each report shows (default: %(default)s)",
    )
    reports.add_argument(
        "--cell-timeout",
        type=_positive_int,
        default=CELL_TIMEOUT_S,
        metavar="SECONDS",
        help="longest a cell of a site's notebook may run before the site fails (default: %(default)s)",
    )
    reports.add_argument(
        "--force",
        action="store_true",
        help="run every site even if its inputs are unchanged, and write into a folder holding "
        "an index.html the kit did not make",
    )
    reports.add_argument(
        "--handout",
        type=Path,
        metavar="DIR",
        help="also write DIR/<slug>.zip per finished site with only that site's files (report, "
        "PDF, notebook, summary) to hand to it; --out itself is the coordinator's view "
        "(every site's figures) and is not to be shared",
    )
    reports.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar (the per-site lines remain; without a terminal on stderr, e.g. in "
        "a log, there is no bar either: one line per site)",
    )
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
    from ivig_kit.reports.runner.command import run_reports

    return run_reports(
        args.data,
        args.out,
        sites=args.sites,
        jobs=args.jobs,
        scheduler=args.scheduler,
        notebook=args.notebook,
        population=args.population,
        adverse_events=args.adverse_events,
        pdf=args.pdf,
        params=args.params,
        min_cell_size=args.min_cell_size,
        cell_timeout=args.cell_timeout,
        force=args.force,
        handout=args.handout,
        quiet=args.quiet,
    )


def _multiplier(text: str) -> tuple[str | None, float]:
    enzyme, _, value = text.rpartition("=")
    try:
        return (enzyme.strip().lower() or None), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or ENZYME=NUMBER (e.g. ck=15), got {text!r}") from None


def _enzyme_normalisation(args):
    from ivig_kit.score.measures import ENZYME_ULN_MULTIPLIER_PRESETS, EnzymeNormalisation

    ranged = args.uln_multiplier or args.enzyme_preset
    if args.enzyme_normalisation == "relative" and ranged:
        raise InputError("--uln-multiplier and --enzyme-preset apply to --enzyme-normalisation uln_range, not relative")
    if not ranged:
        return EnzymeNormalisation(args.enzyme_normalisation or "relative")
    per_enzyme = dict(ENZYME_ULN_MULTIPLIER_PRESETS[args.enzyme_preset]) if args.enzyme_preset else {}
    common = 10.0
    for enzyme, k in args.uln_multiplier or ():
        if enzyme is None:
            common = k
        else:
            per_enzyme[enzyme] = k
    return EnzymeNormalisation("uln_range", common, tuple(per_enzyme.items()))


def _run_tis(args) -> int:
    from ivig_kit.score.file_scoring import score_file

    return score_file(
        args.input,
        args.out,
        population=args.population,
        enzyme_normalisation=_enzyme_normalisation(args),
        item_rules=_item_rules(args),
        deterioration_reading=args.deterioration_reading,
        deterioration_confirmation=args.deterioration_confirmation,
        **_reading(args),
    )


def _reading(args) -> dict:
    """The options of reading a real-world file, as the library's keyword arguments."""
    return {
        "separator": args.sep,
        "decimal": args.decimal,
        "encoding": args.encoding,
        "vas_unit": args.vas_unit,
        "mapping": args.mapping,
        "sheet": args.sheet,
    }


def _add_item_rule_arguments(parser) -> None:
    """The rules that turn case-report-form items into totals (ivig_kit.score.core_set.ItemRules)."""
    from ivig_kit.instruments.items import MMT_SCALE_MAX

    rules = parser.add_argument_group("item-level input (data/item_dictionary.csv): how items become totals")
    rules.add_argument(
        "--mmt-scale",
        choices=list(MMT_SCALE_MAX),
        default="unilateral",
        help="MMT from grades: unilateral MMT-8 0-80 (right, left where the right is empty; default), "
        "bilateral MMT-8 0-150, or total MMT-24 0-260; a row's mmt_scale column wins",
    )
    rules.add_argument(
        "--mmt-prorate",
        action="store_true",
        help="prorate an MMT total with missing groups (>= 75%% graded; the kit's option, no IMACS "
        "rule); default: missing",
    )
    rules.add_argument(
        "--haq-aid-rule",
        choices=["standard", "adi", "plus_one"],
        default="standard",
        help="aids/devices and help: standard raises a category's 0-1 to 2 (default), adi ignores "
        "them (HAQ-ADI), plus_one adds 1 (textbook variant)",
    )
    rules.add_argument(
        "--haq-minimum",
        type=int,
        choices=[6, 7],
        default=6,
        help="fewest HAQ/CHAQ categories answered for an index (default: 6)",
    )
    rules.add_argument(
        "--haq-denominator",
        choices=["answered", "eight"],
        default="answered",
        help="divide by the categories answered (default, the rule) or always by 8 (a calculator "
        "variant, for comparison only)",
    )


def _item_rules(args):
    from ivig_kit.score.core_set import ItemRules

    return ItemRules(args.mmt_scale, args.mmt_prorate, args.haq_aid_rule, args.haq_minimum, args.haq_denominator)


def _add_core_set_parser(commands) -> None:
    core_set = commands.add_parser(
        "core-set",
        help="turn an item-level table (MMT grades, HAQ answers, CMAS items, MYOACT) into a visit table",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Read an item-level visit table (the canonical item columns of data/item_dictionary.csv,\n"
        "or an export mapped onto them with --mapping), check every item, and write the kit's visit\n"
        "table: mmt with mmt_max, cmas, haq, chaq, myoact, each with the rule that made it\n"
        "(mmt_rule, haq_rule, myoact_rule), ready for 'ivig-kit tis' ('tis' also reads items directly).",
        epilog="Every item problem is reported at once (file, rows, lines, column, expected range).\n"
        "Exit status: 0 written, 1 the output could not be written, 2 unusable input or options.\n\n"
        "example:\n  ivig-kit core-set data/example_items.csv --out visits.csv && ivig-kit tis visits.csv",
    )
    core_set.add_argument("input", type=Path, help="item-level table (.csv, .parquet or .xlsx)")
    core_set.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        required=True,
        help="visit table to write: .csv, .parquet or .xlsx; never an input, a symlink or a device",
    )
    reading = core_set.add_argument_group("reading real-world files")
    reading.add_argument("--sep", metavar="CHAR", help="field separator: ',', ';', 'tab' (default: detected)")
    reading.add_argument("--decimal", choices=[".", ","], metavar="MARK", help="decimal mark (default: detected)")
    reading.add_argument("--encoding", metavar="NAME", help="text encoding (default: UTF-8, or UTF-16 with a BOM)")
    reading.add_argument("--vas-unit", choices=["cm", "mm"], default="cm", help="unit of the VAS columns (default: cm)")
    reading.add_argument("--mapping", type=Path, metavar="YAML", help="column mapping onto the kit's columns")
    reading.add_argument("--sheet", metavar="NAME", help="sheet of an .xlsx input (default: the first)")
    _add_item_rule_arguments(core_set)
    core_set.set_defaults(handler=_run_core_set)


def _run_core_set(args) -> int:
    from ivig_kit.score.file_scoring import core_set_file

    return core_set_file(args.input, args.out, item_rules=_item_rules(args), **_reading(args))


def main(argv=None) -> int:
    with Interrupted.on_signals():  # from the first moment: one line, no traceback, partial files removed
        try:
            args = build_parser().parse_args(argv)
            return args.handler(args)
        except KeyboardInterrupt:
            print("ivig-kit: interrupted; no output file was written or changed", file=sys.stderr)
            return 130
        except Interrupted as stopped:
            print(f"ivig-kit: stopped by {stopped}; no output file was written or changed", file=sys.stderr)
            return 128 + stopped.signum
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
