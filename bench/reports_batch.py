"""One run of ``ivig-kit reports`` against the naive per-site loop that prints every figure of issue 27's
"Done when": the ratio to the naive loop, start-up, marginal cost per site, ``--pdf`` overhead, the scale
from 9 to ``--large`` sites (time, parent peak RSS, index size) and where the time goes.

Targets on a 2-core machine (``--check`` exits 1 on a miss):

- ratio naive / batch at ``--sites`` (24) sites >= 12x;
- start-up <= 3 s: from launching ``ivig-kit reports`` to the first site's first cell, read from the
  executed notebooks (``cell.metadata.papermill.start_time`` of the first code cell, earliest over sites);
- marginal cost <= 0.5 s per site: (full batch - ``--small`` batch) / (sites - small);
- the full, small and ``--pdf`` batches are each run ``--repeat`` (3) times into new folders and their median
  taken (start-up too): on a shared machine one batch differs from the next by a second or two;
- ``--pdf`` overhead <= 0.3 s per site: (the batch with ``--pdf`` - without) / sites;
- scale: marginal seconds per site at ``--large`` (1000) sites within 1.2x of 9 sites';
- an unchanged re-run under 10% of the full run.

Printed without a target: the parent's peak RSS (``ru_maxrss`` of the CLI's own process, not its children),
split into its peak once the registry was read and scored (memory that grows with the registry's rows) and what
the run of the sites added (memory that would grow with the number of sites), and index.json / index.html sizes
at 9 and ``--large`` sites, and the breakdown (``bench/_reports_breakdown.py``):
the batch's parts and, per site, kernel start and stop, papermill overhead, each cell, HTML export, and the
floor (the same cells in a warm process, no kernel).

- naive: per site ``papermill NB OUT.ipynb -k python3 -r site S -r data_path ...`` then ``jupyter nbconvert
  --to html --no-input OUT.ipynb``; each kernel reads the whole registry (the notebook's stand-alone mode);
- batch: the venv's ``ivig-kit reports DATA --out DIR --jobs N`` in a subprocess that inherits PYTHONPATH and
  runs in the scratch folder, so ``PYTHONPATH=/older/checkout`` benchmarks that checkout's kit (the
  breakdown prints "n/a" for a part whose function that checkout lacks).

    python bench/reports_batch.py [--sites 24] [--jobs 2] [--small 4] [--large 1000] [--large-run N]
        [--breakdown-sites 6] [--repeat 3] [--skip-naive] [--skip-pdf] [--keep DIR] [--check]

The machine may be shared: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import datetime
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ivig_kit.tools.demo_registry import demo_sites, write_demo_registry

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHROMIUM = Path(os.environ.get("IVIG_KIT_CHROMIUM") or "/usr/bin/chromium")
#: The venv's ``ivig-kit`` entry point, plus the peak RSS of its own process written to argv[1] at exit, and
#: its peak when the registry had been read, validated, scored and summarised (``prepare_batch`` returned).
RSS_WRAPPER = """
import resource, sys
import ivig_kit.reports.runner.prepare as prepare
from ivig_kit.cli import main
report = sys.argv.pop(1)
prepared = []
def measured(*args, _prepare=prepare.prepare_batch, **kwargs):
    batch = _prepare(*args, **kwargs)
    prepared.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return batch
prepare.prepare_batch = measured
try:
    status = main(sys.argv[1:])
except SystemExit as stop:
    status = stop.code
with open(report, "w") as file:
    file.write(f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} {prepared[0] if prepared else 0}")
sys.exit(status)
"""

TARGET_NAIVE_OVER_BATCH = 12.0
TARGET_STARTUP_S = 3.0
TARGET_MARGINAL_S = 0.5
TARGET_PDF_OVERHEAD_S = 0.3
TARGET_MARGINAL_RATIO = 1.20
TARGET_UNCHANGED_SHARE = 0.10


def tool(name: str) -> str:
    """A command of this environment (the venv's papermill, jupyter, ivig-kit)."""
    path = BIN / name
    return str(path) if path.exists() else shutil.which(name) or name


def report_notebook() -> Path:
    """The kit's own report notebook (that of the checkout under test), for the naive loop."""
    try:
        from ivig_kit.resources import notebook_path

        return Path(notebook_path("site_report.ipynb"))
    except ImportError:
        return REPO / "notebooks" / "site_report.ipynb"


def run(command: list[str], cwd: Path) -> float:
    """Seconds of a command run in ``cwd`` (never a checkout: ``python -c`` children put it first on sys.path)."""
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(
            f"failed ({result.returncode}): {' '.join(command)}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        )
    return seconds


def naive_loop(sites: list[str], data: Path, adverse_events: Path, out: Path) -> list[float]:
    """Seconds per site of papermill CLI + nbconvert CLI, one site after the other."""
    out.mkdir(parents=True)
    notebook, seconds = report_notebook(), []
    for number, site in enumerate(sites):
        executed, started = out / f"site{number:02d}.ipynb", time.perf_counter()
        values = {
            "site": site,
            "data_path": data,
            "adverse_events_path": adverse_events,
            "pooled_summary_path": "",
            "population": "adult",
            "summary_path": out / f"site{number:02d}.json",
        }
        parameters = [text for name, value in values.items() for text in ("-r", name, str(value))]
        run([tool("papermill"), str(notebook), str(executed), "-k", "python3", "--no-progress-bar", *parameters], out)
        run([tool("jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed)], out)
        seconds.append(time.perf_counter() - started)
        print(f"  naive {number + 1:2d}/{len(sites)} {site!r}: {seconds[-1]:.1f} s", flush=True)
    return seconds


@dataclasses.dataclass(frozen=True)
class BatchRun:
    """One ``ivig-kit reports`` run: wall seconds, sites re-used, each run site's seconds in its worker (from
    the ledger), start-up (launch to first cell; None when not measured), the parent's peak RSS in MB and the
    sizes of index.json and index.html in MB."""

    seconds: float
    reused: int
    worker_seconds: list[float]
    startup: float | None = None
    peak_rss_mb: float | None = None
    prepared_rss_mb: float | None = None
    index_mb: tuple[float, float] = (0.0, 0.0)
    spread: str = ""


def batch(data: Path, out: Path, jobs: int, sites=None, *, pdf=False, rss=False, startup=False) -> BatchRun:
    command = [tool("ivig-kit")]
    if rss:
        command = [sys.executable, "-c", RSS_WRAPPER, str(out.with_name(out.name + ".maxrss"))]
    command += ["reports", str(data), "--out", str(out), "--jobs", str(jobs), "--quiet"]
    command += ["--sites", *sites] if sites else []
    command += ["--pdf"] if pdf else []
    launched = datetime.datetime.now(datetime.UTC)
    seconds = run(command, out.parent)
    record = json.loads((out / "index.json").read_text(encoding="utf-8"))
    failed = [r["site"] for r in record["sites"] if r["status"] != "ok"]
    if failed:
        raise SystemExit(f"the batch failed on {failed}")
    peaks = [int(k) / 1024 for k in out.with_name(out.name + ".maxrss").read_text().split()] if rss else [None, None]
    return BatchRun(
        seconds=seconds,
        reused=sum(bool(r.get("reused")) for r in record["sites"]),
        worker_seconds=[r["seconds"] for r in record["sites"] if not r.get("reused")],
        startup=first_cell_after(out, launched) if startup else None,
        peak_rss_mb=peaks[0],
        prepared_rss_mb=peaks[1],
        index_mb=tuple((out / name).stat().st_size / 1e6 for name in ("index.json", "index.html")),
    )


def median_run(runs: list[BatchRun]) -> BatchRun:
    """The run of median seconds, with the median start-up of all of them and ``spread`` saying what the runs
    took (a shared machine's batches differ by a second or two from run to run)."""
    ordered = sorted(runs, key=lambda run_: run_.seconds)
    startups = [run_.startup for run_ in runs if run_.startup is not None]
    spread = "" if len(runs) < 2 else f" (median of {', '.join(f'{r.seconds:.1f}' for r in runs)} s)"
    return dataclasses.replace(
        ordered[(len(ordered) - 1) // 2], startup=statistics.median(startups) if startups else None, spread=spread
    )


def first_cell_after(out: Path, launched: datetime.datetime) -> float | None:
    """Seconds from ``launched`` to the earliest start of a site notebook's first code cell (papermill's cell
    metadata, ISO UTC); None when the notebooks carry no such record."""
    starts = []
    for path in out.glob("*.ipynb"):
        if path.name.endswith(".failed.ipynb"):
            continue
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        first = next((c for c in cells if c.get("cell_type") == "code"), {})
        start = first.get("metadata", {}).get("papermill", {}).get("start_time")
        if start:
            moment = datetime.datetime.fromisoformat(start.replace("Z", "+00:00"))
            starts.append(moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC))
    return (min(starts) - launched).total_seconds() if starts else None


def scale_run(root: Path, count: int, small: int, jobs: int, ran: int | None) -> tuple[BatchRun, float]:
    """The batch on ``ran`` (default: all) sites of a ``count``-site registry, and its marginal seconds per site
    against ``small`` of them."""
    data, _ = write_demo_registry(root / f"data-{count}", sites=demo_sites(count))
    sites = [s.name for s in demo_sites(count)]
    ran = min(ran or count, count)
    full = batch(data, root / f"batch-{count}", jobs, sites[:ran] if ran < count else None, rss=True)
    part = batch(data, root / f"batch-{count}-small", jobs, sites[:small])
    return full, (full.seconds - part.seconds) / (ran - small)


def change_two_sites(data: Path, sites: list[str]) -> None:
    """Change one HAQ value of the first two sites (everything else stays byte for byte the same)."""
    import pandas as pd

    table = pd.read_csv(data, dtype=str, keep_default_na=False)
    for site in sites[:2]:
        row = table.index[(table["site"] == site) & (table["haq"] != "")][1]
        table.loc[row, "haq"] = "0.125" if table.loc[row, "haq"] != "0.125" else "0.25"
    table.to_csv(data, index=False)


def missed_targets(
    naive_over_batch=None,
    unchanged_share=None,
    marginal_small=None,
    marginal_large=None,
    startup=None,
    marginal=None,
    pdf_overhead=None,
) -> list[str]:
    """One line per target the figures miss (figures not measured are not checked). A marginal cost that is
    not positive says the run was too noisy to measure it, which is a miss too."""
    missed = []
    if naive_over_batch is not None and naive_over_batch < TARGET_NAIVE_OVER_BATCH:
        missed.append(f"naive / batch {naive_over_batch:.2f}x < {TARGET_NAIVE_OVER_BATCH:g}x")
    if unchanged_share is not None and unchanged_share >= TARGET_UNCHANGED_SHARE:
        missed.append(
            f"unchanged re-run {100 * unchanged_share:.1f}% >= {100 * TARGET_UNCHANGED_SHARE:g}% of the full run"
        )
    if startup is not None and startup > TARGET_STARTUP_S:
        missed.append(f"start-up {startup:.2f} s > {TARGET_STARTUP_S:g} s")
    if marginal is not None and marginal > TARGET_MARGINAL_S:
        missed.append(f"marginal cost {marginal:.2f} s > {TARGET_MARGINAL_S:g} s per site")
    if pdf_overhead is not None and pdf_overhead > TARGET_PDF_OVERHEAD_S:
        missed.append(f"--pdf overhead {pdf_overhead:.2f} s > {TARGET_PDF_OVERHEAD_S:g} s per site")
    if marginal_small is not None and marginal_large is not None:
        if marginal_small <= 0 or marginal_large <= 0:
            missed.append(
                f"a marginal cost per site is not positive ({marginal_small:.2f}, {marginal_large:.2f} s): "
                f"the machine was too busy to measure it"
            )
        elif marginal_large / marginal_small > TARGET_MARGINAL_RATIO:
            missed.append(f"marginal cost ratio {marginal_large / marginal_small:.2f} > {TARGET_MARGINAL_RATIO:g}")
    return missed


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def fmt(value: float | None, spec: str = ".2f", unit: str = "") -> str:
    return "n/a" if value is None else f"{value:{spec}}{unit}"


def pdf_missing() -> str:
    """Why ``--pdf`` cannot run here ("" when it can)."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM}"
    return "" if importlib.util.find_spec("playwright") else "no playwright package"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=24, help="sites of the main registry (default: 24)")
    parser.add_argument("--jobs", type=int, default=2, help="--jobs of ivig-kit reports (default: 2)")
    parser.add_argument("--small", type=int, default=4, help="sites of the batch the marginal cost is taken against")
    parser.add_argument("--large", type=int, default=1000, help="sites of the scale registry (default 1000; 0 skips)")
    parser.add_argument("--large-run", type=int, metavar="N", help="run only N sites of each scale registry")
    parser.add_argument("--breakdown-sites", type=int, default=6, help="sites timed in-process (default 6; 0 skips)")
    parser.add_argument("--skip-naive", action="store_true", help="leave out the naive loop (no ratio)")
    parser.add_argument("--skip-pdf", action="store_true", help="leave out the --pdf batch")
    parser.add_argument("--keep", type=Path, help="keep the registry and every output in this folder")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of the full, small and --pdf batches, each into a new folder; the median is used (default 3)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a figure misses its target")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    small = max(1, min(args.small, args.sites - 1)) if args.sites > 1 else 1
    root = Path(args.keep or tempfile.mkdtemp(prefix="ivig-kit-bench-")).absolute()
    root.mkdir(parents=True, exist_ok=True)
    os.chdir(root)  # kernels and zygotes started here must import the kit of PYTHONPATH, not of a checkout here
    data, adverse_events = write_demo_registry(root / "data", sites=demo_sites(args.sites))
    sites = [s.name for s in demo_sites(args.sites)]
    visits = len(data.read_text(encoding="utf-8").splitlines()) - 1
    import ivig_kit

    print(f"kit under test: {Path(ivig_kit.__file__).parent} (PYTHONPATH={os.environ.get('PYTHONPATH', '')})")
    # the kit's bytecode, as an installed package has it (a checkout writes it on its first run, unless
    # PYTHONDONTWRITEBYTECODE is set): otherwise every process of every run would compile the kit again
    compileall.compile_dir(Path(ivig_kit.__file__).parent, quiet=1)
    print(f"{args.sites} sites, {visits} visits; {os.cpu_count()} CPUs; load average before {load()}", flush=True)
    f = dict.fromkeys(["ratio", "small", "marginal", "pdf", "scale", "naive", "floor", "worker", "machine floor"])
    scale: dict[int, tuple[BatchRun, float]] = {}
    try:
        repeats = range(max(1, args.repeat))
        main_run = median_run([batch(data, root / f"batch-{i}", args.jobs, startup=True) for i in repeats])
        print(
            f"batch: {main_run.seconds:.1f} s for {args.sites} sites (--jobs {args.jobs}){main_run.spread}", flush=True
        )
        unchanged = batch(data, root / "batch-0", args.jobs)
        change_two_sites(data, sites)
        changed = batch(data, root / "batch-0", args.jobs)
        if args.sites > 1:
            f["small"] = median_run([batch(data, root / f"batch-small-{i}", args.jobs, sites[:small]) for i in repeats])
            f["marginal"] = (main_run.seconds - f["small"].seconds) / (args.sites - small)
        why_not_pdf = "--skip-pdf" if args.skip_pdf else pdf_missing()
        if not why_not_pdf:
            pdf_run = median_run([batch(data, root / f"batch-pdf-{i}", args.jobs, pdf=True) for i in repeats])
            f["pdf"] = (pdf_run.seconds - main_run.seconds) / args.sites
            print(f"batch --pdf: {pdf_run.seconds:.1f} s{pdf_run.spread}", flush=True)
        if args.large and args.sites > 1:
            for count in (9, args.large):
                scale[count] = scale_run(root / "scale", count, small, args.jobs, args.large_run)
            f["scale"] = scale[args.large][1] / scale[9][1]
        if not args.skip_naive:
            f["naive"] = sum(naive_loop(sites, data, adverse_events, root / "naive"))
            f["ratio"] = f["naive"] / main_run.seconds
        if args.breakdown_sites > 0:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from _reports_breakdown import batch_parts, per_site_parts

            batch_parts(data, root)
            parts = per_site_parts(data, root, args.breakdown_sites, args.jobs)
            f["floor"], f["worker"] = parts.get("floor"), parts.get("worker")
            f["machine floor"] = parts.get("floor side by side")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    print()
    if f["naive"] is not None:
        print(f"naive loop (papermill + nbconvert per site): {f['naive']:.1f} s ({f['naive'] / args.sites:.2f} s/site)")
    print(f"batch: {main_run.seconds:.1f} s for {args.sites} sites ({main_run.seconds / args.sites:.2f} s per site)")
    print(f"ratio naive / batch: {fmt(f['ratio'], unit='x')} (target >= {TARGET_NAIVE_OVER_BATCH:g}x)")
    if None not in (f["naive"], f["machine floor"], main_run.startup):
        # no batch of these sites can beat its start-up plus every site at the machine's floor
        best = main_run.startup + args.sites * f["machine floor"]
        print(
            f"  the best this machine allows: start-up {main_run.startup:.2f} s + {args.sites} sites x "
            f"{f['machine floor']:.3f} s (the notebook's own code, {args.jobs} at once, no kernel, no export) = "
            f"{best:.1f} s, a ratio of at most {f['naive'] / best:.1f}x"
        )
    print(f"start-up: {fmt(main_run.startup, unit=' s')} (launch to first cell; target <= {TARGET_STARTUP_S:g} s)")
    print(
        f"marginal cost: {fmt(f['marginal'], unit=' s')} per site (against {small} sites in "
        f"{fmt(f['small'] and f['small'].seconds, '.1f', ' s')}{f['small'].spread if f['small'] else ''}; "
        f"target <= {TARGET_MARGINAL_S:g} s)"
    )
    pdf_note = f" ({why_not_pdf})" if why_not_pdf else ""
    print(f"--pdf overhead: {fmt(f['pdf'], unit=' s')} per site{pdf_note} (target <= {TARGET_PDF_OVERHEAD_S:g} s)")
    print(
        f"re-run unchanged: {unchanged.seconds:.1f} s = {100 * unchanged.seconds / main_run.seconds:.1f}% of the "
        f"full run (target < {100 * TARGET_UNCHANGED_SHARE:g}%); 2 sites changed: {changed.seconds:.1f} s "
        f"({changed.reused} of {args.sites} re-used)"
    )
    for count, (run_, slope) in scale.items():
        print(
            f"scale {count} sites: {run_.seconds:.1f} s, marginal {slope:.2f} s per site, worker median "
            f"{statistics.median(run_.worker_seconds):.2f} s, parent peak RSS {run_.peak_rss_mb:.0f} MB "
            f"({run_.prepared_rss_mb:.0f} MB once the registry was read and scored, so the sites' run added "
            f"{run_.peak_rss_mb - run_.prepared_rss_mb:.0f} MB), "
            f"index.json {run_.index_mb[0]:.3f} MB, index.html {run_.index_mb[1]:.3f} MB"
        )
    rss = [scale[c][0].peak_rss_mb for c in scale] or [None, None]
    rss_ratio = rss[1] / rss[0] if None not in rss else None
    large = args.large or "--large"  # 0: skipped
    print(f"scale ratio {large} / 9 sites: {fmt(f['scale'])} (marginal per site; target <= {TARGET_MARGINAL_RATIO:g})")
    added = [scale[c][0].peak_rss_mb - scale[c][0].prepared_rss_mb for c in scale] or [None, None]
    print(
        f"parent peak RSS ratio {large} / 9 sites: {fmt(rss_ratio)} (flat: about 1); of which the registry in "
        f"memory: {fmt(rss[0] - added[0] if None not in rss + added else None, '.0f')} / "
        f"{fmt(rss[1] - added[1] if None not in rss + added else None, '.0f')} MB, and the run of the sites added "
        f"{fmt(added[0], '.0f')} / {fmt(added[1], '.0f')} MB (9 / {large} sites)"
    )
    missed = missed_targets(
        naive_over_batch=f["ratio"],
        unchanged_share=unchanged.seconds / main_run.seconds,
        marginal_small=scale[9][1] if scale else None,
        marginal_large=scale[args.large][1] if scale else None,
        startup=main_run.startup,
        marginal=f["marginal"],
        pdf_overhead=f["pdf"],
    )
    print(f"load average after {load()}")
    print("\nsummary")
    print(f"  ratio: {fmt(f['ratio'], unit='x')}")
    print(f"  start-up: {fmt(main_run.startup, unit=' s')}")
    print(f"  marginal: {fmt(f['marginal'], unit=' s')} per site")
    print(f"  pdf overhead: {fmt(f['pdf'], unit=' s')} per site")
    print(f"  scale ratio: {fmt(f['scale'])}")
    print(f"  peak RSS: {fmt(rss[0], '.0f')} / {fmt(rss[1], '.0f')} MB (9 / {large} sites)")
    print(
        f"  floor per site: {fmt(f['floor'], unit=' s')} (alone); {fmt(f['machine floor'], '.3f', ' s')} of the machine"
    )
    print(f"  worker per site: {fmt(f['worker'], unit=' s')}")
    for line in missed:
        print(f"target missed: {line}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
