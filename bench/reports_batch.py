"""Wall time of `ivig-kit reports --jobs 2` against a naive per-site loop of the papermill and nbconvert CLIs,
the marginal cost per site at a small and a large registry, and incremental re-runs.

Target on a 2-core machine: >= 3x faster than the naive loop; the marginal seconds per site of a
``--large``-site registry within 20% of a 9-site one (each kernel gets only its own site's rows); an
unchanged re-run under 10% of the full run.

Everything runs in the same command, one after the other, on synthetic registries
(``ivig_kit.tools.demo_registry`` with numbered sites added to the named demo sites):

- naive: for each site ``papermill NB OUT.ipynb -k python3 -r site S -r data_path ... -r summary_path ...``
  then ``jupyter nbconvert --to html --no-input OUT.ipynb`` (``-r``: values as strings, as the runner's);
  each kernel reads the whole registry (the notebook's stand-alone mode);
- batch: ``ivig-kit reports DATA --out DIR --jobs 2`` on all ``--sites`` sites, and on ``--small`` of them
  (a fresh folder), so that the marginal seconds per site (the slope) and the fixed start-up cost can be
  told apart; the same on a 9-site and a ``--large``-site registry;
- re-runs: the ``--sites`` batch again into the same folder, unchanged, then after changing two sites' data.

    python bench/reports_batch.py [--sites 24] [--jobs 2] [--small 4] [--large 200] [--skip-naive] [--keep DIR]
                                  [--check]

With ``--check`` (as ``make bench`` runs it) a missed target makes the command fail; the tests only check
that the benchmark runs and prints its figures. The machine may be shared: the load average is printed
before and after.
"""

from __future__ import annotations

import argparse
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
NOTEBOOK = REPO / "notebooks" / "site_report.ipynb"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A command of this environment (the venv's papermill, jupyter, ivig-kit)."""
    path = BIN / name
    return str(path) if path.exists() else shutil.which(name) or name


def run(command: list[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode not in (0,):
        raise SystemExit(
            f"failed ({result.returncode}): {' '.join(command)}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        )
    return seconds


def naive_loop(sites: list[str], data: Path, adverse_events: Path, out: Path) -> list[float]:
    """Seconds per site of papermill CLI + nbconvert CLI, one site after the other."""
    out.mkdir(parents=True)
    seconds = []
    for number, site in enumerate(sites):
        executed = out / f"site{number:02d}.ipynb"
        started = time.perf_counter()
        run(
            [
                tool("papermill"),
                str(NOTEBOOK),
                str(executed),
                "-k",
                "python3",
                "--no-progress-bar",
                "-r",
                "site",
                site,
                "-r",
                "data_path",
                str(data),
                "-r",
                "adverse_events_path",
                str(adverse_events),
                "-r",
                "pooled_summary_path",
                "",
                "-r",
                "population",
                "adult",
                "-r",
                "summary_path",
                str(out / f"site{number:02d}.json"),
            ]
        )
        run([tool("jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed)])
        seconds.append(time.perf_counter() - started)
        print(f"  naive {number + 1:2d}/{len(sites)} {site!r}: {seconds[-1]:.1f} s", flush=True)
    return seconds


def batch(data: Path, out: Path, jobs: int, sites: list[str] | None = None) -> tuple[float, int]:
    """Seconds of one ``ivig-kit reports`` run, and how many sites it re-used."""
    seconds, reused, _ = batch_with_site_seconds(data, out, jobs, sites)
    return seconds, reused


def batch_with_site_seconds(
    data: Path, out: Path, jobs: int, sites: list[str] | None = None
) -> tuple[float, int, list[float]]:
    """Seconds of one ``ivig-kit reports`` run, how many sites it re-used, and each site's own seconds in
    its worker (from the ledger, ``index.json``)."""
    command = [tool("ivig-kit"), "reports", str(data), "--out", str(out), "--jobs", str(jobs), "--quiet"]
    if sites:
        command += ["--sites", *sites]
    seconds = run(command)
    record = json.loads((out / "index.json").read_text(encoding="utf-8"))
    failed = [r["site"] for r in record["sites"] if r["status"] != "ok"]
    if failed:
        raise SystemExit(f"the batch failed on {failed}")
    return (
        seconds,
        sum(bool(r.get("reused")) for r in record["sites"]),
        [r["seconds"] for r in record["sites"] if not r.get("reused")],
    )


def marginal(
    root: Path, count: int, small: int, jobs: int, run: int | None = None
) -> tuple[float, float, float, float]:
    """(seconds for ``run`` sites (default: all), seconds for ``small`` of them, marginal seconds per site, median
    seconds of one site in its worker) on a registry of ``count`` sites."""
    data, _ = write_demo_registry(root / f"data-{count}", sites=demo_sites(count))
    sites = [s.name for s in demo_sites(count)]
    run = min(run or count, count)
    full, _, per_site = batch_with_site_seconds(
        data, root / f"batch-{count}", jobs, sites[:run] if run < count else None
    )
    part, _ = batch(data, root / f"batch-{count}-small", jobs, sites[:small])
    return full, part, (full - part) / (run - small), statistics.median(per_site)


def change_two_sites(data: Path, sites: list[str]) -> None:
    """Change one HAQ value of the first two sites (everything else stays byte for byte the same)."""
    import pandas as pd

    table = pd.read_csv(data, dtype=str, keep_default_na=False)
    for site in sites[:2]:
        row = table.index[(table["site"] == site) & (table["haq"] != "")][1]
        table.loc[row, "haq"] = "0.125" if table.loc[row, "haq"] != "0.125" else "0.25"
    table.to_csv(data, index=False)


#: The targets of the docstring, checked by --check.
TARGET_NAIVE_OVER_BATCH = 3.0
TARGET_UNCHANGED_SHARE = 0.10
TARGET_MARGINAL_RATIO = 1.20


def missed_targets(
    naive_over_batch: float | None = None,
    unchanged_share: float | None = None,
    marginal_small: float | None = None,
    marginal_large: float | None = None,
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=24, help="number of sites (default: 24)")
    parser.add_argument("--jobs", type=int, default=2, help="--jobs of ivig-kit reports (default: 2)")
    parser.add_argument(
        "--small",
        type=int,
        default=4,
        help="sites of the second, smaller batch run used for the marginal cost (default: 4)",
    )
    parser.add_argument(
        "--large",
        type=int,
        default=200,
        help="sites of the large registry whose marginal cost is compared with 9 sites' (default: 200; 0 to skip)",
    )
    parser.add_argument(
        "--large-run",
        type=int,
        metavar="N",
        help="run only the first N sites of each scale registry (default: all of them; the "
        "slope is then measured between --small and N sites of the same registry)",
    )
    parser.add_argument("--skip-naive", action="store_true", help="leave out the naive loop (no ratio)")
    parser.add_argument("--keep", type=Path, help="keep the registry and every output in this folder")
    parser.add_argument("--check", action="store_true", help="exit 1 when a figure misses its target")
    args = parser.parse_args(argv)
    small = max(1, min(args.small, args.sites - 1)) if args.sites > 1 else 1

    root = Path(args.keep or tempfile.mkdtemp(prefix="ivig-kit-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    data, adverse_events = write_demo_registry(root / "data", sites=demo_sites(args.sites))
    sites = [s.name for s in demo_sites(args.sites)]
    visits = len(data.read_text(encoding="utf-8").splitlines()) - 1
    print(f"{args.sites} sites, {visits} visits; {os.cpu_count()} CPUs; load average {load()}")
    small_seconds = naive_seconds = None
    scale = {}
    try:
        batch_seconds, _ = batch(data, root / "batch", args.jobs)
        print(f"ivig-kit reports --jobs {args.jobs}: {batch_seconds:.1f} s for {args.sites} sites", flush=True)
        unchanged_seconds, unchanged_reused = batch(data, root / "batch", args.jobs)
        print(f"re-run, nothing changed: {unchanged_seconds:.1f} s ({unchanged_reused} re-used)", flush=True)
        change_two_sites(data, sites)
        changed_seconds, changed_reused = batch(data, root / "batch", args.jobs)
        print(f"re-run, 2 sites changed: {changed_seconds:.1f} s ({changed_reused} re-used)", flush=True)
        if args.sites > 1:
            small_seconds, _ = batch(data, root / "batch-small", args.jobs, sites[:small])
        if args.large and args.sites > 1:
            for count in (9, args.large):
                scale[count] = marginal(root / "scale", count, small, args.jobs, args.large_run)
                ran = min(args.large_run or count, count)
                print(
                    f"registry of {count} sites, {ran} run: {scale[count][0]:.1f} s, {small} of its sites "
                    f"{scale[count][1]:.1f} s, marginal {scale[count][2]:.2f} s per site; one site in its "
                    f"worker {scale[count][3]:.2f} s (median)",
                    flush=True,
                )
        if not args.skip_naive:
            naive = naive_loop(sites, data, adverse_events, root / "naive")
            naive_seconds = sum(naive)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    print()
    if naive_seconds is not None:
        print(
            f"naive loop (papermill CLI + jupyter nbconvert --no-input per site): {naive_seconds:.1f} s "
            f"({naive_seconds / args.sites:.2f} s per site)"
        )
    print(
        f"ivig-kit reports --jobs {args.jobs}: {batch_seconds:.1f} s ({batch_seconds / args.sites:.2f} s per site "
        f"on average)"
    )
    if naive_seconds is not None:
        print(f"ratio naive / batch: {naive_seconds / batch_seconds:.2f}x (target >= 3x)")
    if small_seconds is not None:
        slope = (batch_seconds - small_seconds) / (args.sites - small)
        print(
            f"batch marginal cost: {slope:.2f} s per site (from {small} sites in {small_seconds:.1f} s); "
            f"fixed start-up {batch_seconds - slope * args.sites:.1f} s"
        )
    print(
        f"re-run unchanged: {unchanged_seconds:.1f} s = {100 * unchanged_seconds / batch_seconds:.1f}% of the full "
        f"run (target < 10%); 2 sites changed: {changed_seconds:.1f} s = "
        f"{100 * changed_seconds / batch_seconds:.1f}% ({changed_reused} of {args.sites} re-used)"
    )
    if len(scale) == 2:
        (_, _, m9, w9), (_, _, mlarge, wlarge) = scale[9], scale[args.large]
        print(
            f"marginal seconds per site: {m9:.2f} at 9 sites, {mlarge:.2f} at {args.large} sites "
            f"(ratio {mlarge / m9:.2f}; target <= 1.20)"
        )
        print(
            f"median seconds of one site in its worker: {w9:.2f} at 9 sites, {wlarge:.2f} at {args.large} sites "
            f"(ratio {wlarge / w9:.2f})"
        )
    if naive_seconds is not None:
        print(f"naive marginal cost: {naive_seconds / args.sites:.2f} s per site; load average now {load()}")
    else:
        print(f"load average now {load()}")
    missed = missed_targets(
        naive_over_batch=naive_seconds / batch_seconds if naive_seconds is not None else None,
        unchanged_share=unchanged_seconds / batch_seconds,
        marginal_small=scale[9][2] if len(scale) == 2 else None,
        marginal_large=scale[args.large][2] if len(scale) == 2 else None,
    )
    for line in missed:
        print(f"target missed: {line}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
