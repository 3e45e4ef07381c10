"""The whole ``ivig-kit tis`` command on 1,000,000 visits, against the engine alone in the same run.

Targets on a 2-core machine: CSV in and out <= 5 s, Parquet in and out <= 3 s, peak RSS < 1.5 GB,
end to end within 6x of the engine alone.

Writes 1,000,000 synthetic visits (200,000 patients x 5 visits, ``bench/tis_throughput.py``) as CSV
and Parquet into a temporary folder, times ``total_improvement_score`` on the table in memory
(the baseline, best of ``--repeat``), then runs the command in a fresh process for each input and
output format (CSV -> CSV, Parquet -> Parquet, CSV -> Parquet, Parquet -> CSV), best of
``--repeat`` each, and prints wall time, the child's CPU time (user + system, all threads) and peak
RSS, and the ratios of wall and CPU time to the engine's. On a shared machine (see the load
average it prints) wall times include waiting for a core; the CPU ratio is the steadier figure.

    python bench/tis_cli.py [--visits 1000000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tis_throughput import synthetic_visits

from ivig_kit.score import total_improvement_score

RUNS = (("csv", "csv"), ("parquet", "parquet"), ("csv", "parquet"), ("parquet", "csv"))


def run_command(arguments: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system, all threads) and peak RSS (MiB) of one ``ivig-kit`` process."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "ivig_kit.cli", *arguments], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    stdout, stderr = process.stdout.read().decode(), process.stderr.read().decode()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"ivig-kit {' '.join(arguments)} failed ({process.returncode}):\n{stdout}\n{stderr}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 2**10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; the best is reported")
    parser.add_argument("--quick", action="store_true", help="only CSV -> CSV (for the test suite)")
    args = parser.parse_args()

    visits = synthetic_visits(args.visits)
    with tempfile.TemporaryDirectory(prefix="tis-cli-bench-") as folder:
        folder = Path(folder)
        inputs = {"csv": folder / "visits.csv", "parquet": folder / "visits.parquet"}
        visits.to_csv(inputs["csv"], index=False)
        visits.to_parquet(inputs["parquet"], index=False)

        total_improvement_score(visits.head(1000), validate=False)  # warm up
        engine, engine_cpu = float("inf"), float("inf")
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            scores = total_improvement_score(visits, validate=False)
            engine = min(engine, time.perf_counter() - start)
            engine_cpu = min(engine_cpu, time.process_time() - start_cpu)
        print(f"visits                        {len(visits):>10,} ({len(scores):,} follow-up rows)")
        print(
            f"engine alone, in memory       {engine:>10.2f} s   cpu {engine_cpu:.2f} s (best of {args.repeat}, "
            f"validate=False)"
        )
        del scores

        startup, startup_cpu, _ = run_command(["--version"])
        print(f"process start (--version)     {startup:>10.2f} s   cpu {startup_cpu:.2f} s")
        print(
            f"load average (1 min) {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: wall times include waiting "
            f"for the CPU when the machine is shared; cpu is the process's own user + system time"
        )
        print(
            f"{'ivig-kit tis':<22}{'wall':>8} {'cpu':>8} {'peak RSS':>10} {'x engine':>9} {'cpu x':>6}  "
            f"targets (wall, RSS, wall ratio)"
        )
        for source, target in RUNS if not args.quick else RUNS[:1]:
            out = folder / f"scores.{target}"
            best, best_cpu, peak = float("inf"), float("inf"), 0.0
            for _ in range(args.repeat):
                out.unlink(missing_ok=True)
                seconds, cpu, rss = run_command(["tis", str(inputs[source]), "--out", str(out)])
                best, best_cpu, peak = min(best, seconds), min(best_cpu, cpu), max(peak, rss)
            limit = 5.0 if "csv" in (source, target) else 3.0
            check = pd.read_parquet(out) if target == "parquet" else pd.read_csv(out, nrows=5)
            assert list(check.columns[:5]) == ["site", "patient_id", "week", "tis", "category"]
            verdicts = ["met" if ok else "NOT met" for ok in (best <= limit, peak < 1536, best <= 6 * engine)]
            print(
                f"{source + ' -> ' + target:<22}{best:>7.2f}s {best_cpu:>7.2f}s {peak:>6.0f} MiB "
                f"{best / engine:>8.1f}x "
                f"{best_cpu / engine_cpu:>5.1f}x  "
                f"<= {limit:g} s {verdicts[0]}, < 1536 MiB {verdicts[1]}, <= 6x {verdicts[2]}"
            )


if __name__ == "__main__":
    main()
