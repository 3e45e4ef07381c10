"""The ``ivig-kit reports`` command: the checks made before any site runs (browser for ``--pdf``, hand-out
folder), the batch, the hand-outs, one line per outcome on the console and the exit status."""

from __future__ import annotations

import sys
from pathlib import Path

from ivig_kit.errors import BatchWriteError, Interrupted
from ivig_kit.reports.content.parameters import MIN_CELL_SIZE
from ivig_kit.reports.runner.tasks import CELL_TIMEOUT_S


def run_reports(
    data: Path,
    out: Path,
    *,
    sites: list[str] | None = None,
    jobs: int = 2,
    scheduler: str | None = None,
    notebook: Path | None = None,
    population: str = "adult",
    adverse_events: str | None = None,
    pdf: bool = False,
    params: Path | None = None,
    min_cell_size: int = MIN_CELL_SIZE,
    cell_timeout: float = CELL_TIMEOUT_S,
    force: bool = False,
    handout: Path | None = None,
    quiet: bool = False,
) -> int:
    """Run the site reports of ``data`` into ``out`` as ``ivig-kit reports`` does (the options are the command's)
    and return its exit status: 0 all sites ok, 1 some site failed or the folder could not be written,
    128 + the signal when stopped. An unusable input raises :class:`~ivig_kit.errors.InputError`."""
    runners = None
    try:
        note = None
        if not scheduler:  # first of all: the zygote's imports are the longest wait of a small registry
            from ivig_kit.reports.runner.pool import capped_jobs

            jobs, note = capped_jobs(jobs)
            runners = _start_runners(notebook, jobs)

        from ivig_kit.reports.runner.batch import run_batch
        from ivig_kit.reports.runner.prepare import prepare_batch

        if pdf:  # before any site runs: a missing browser is a setup mistake (exit 2), not a failed site
            from ivig_kit.reports.runner.pdf import find_chromium

            find_chromium()
        batch = prepare_batch(
            data,
            out,
            sites=sites,
            notebook=notebook,
            population=population,
            adverse_events_path="auto" if adverse_events is None else adverse_events,
            min_cell_size=min_cell_size,
            params_path=params,
            force=force,
            cell_timeout_s=cell_timeout,
        )
        if handout:  # before any site runs: a hand-out folder inside --out is refused
            from ivig_kit.reports.runner.handout import check_handout_folder

            check_handout_folder(handout, batch.out_dir)
        if note:
            print(f"ivig-kit: note: {note}", file=sys.stderr)
        adverse = batch.adverse_events_path.name if batch.adverse_events_path else "none"
        where = f"the dask scheduler at {scheduler}" if scheduler else f"{jobs} process(es)"
        print(
            f"{len(batch.tasks)} site(s) of {batch.data_path.name} (adverse events: {adverse}) on {where}", flush=True
        )
        outcome = run_batch(
            batch,
            jobs=jobs,
            scheduler=scheduler,
            progress=not quiet and sys.stderr.isatty(),
            pdf=pdf,
            runners=runners if batch.notebook == runners_notebook(notebook) else None,
        )
    except BatchWriteError as failure:  # disk full or I/O error in the output folder: one line, no traceback
        print(f"ivig-kit: error: {failure}", file=sys.stderr, flush=True)
        return 1
    except Interrupted as stopped:
        done = (
            "no site finished"
            if stopped.result is None
            else f"{sum(r.ok for r in stopped.result.results)} of {len(stopped.result.results)} site(s) finished; "
            f"the index marks the others"
        )
        print(f"ivig-kit: stopped by {stopped}: {done}", file=sys.stderr, flush=True)
        return 128 + stopped.signum
    except BaseException:  # bad input, or Ctrl-C while the registry is read: stop the workers now
        if runners is not None:
            runners.close(wait=False)
            runners = None
        raise
    finally:
        if runners is not None:
            runners.close()
    failed = outcome.failed
    reused = f" ({len(outcome.reused)} re-used, inputs unchanged)" if outcome.reused else ""
    print(f"{len(outcome.results) - len(failed)} ok{reused}, {len(failed)} failed in {outcome.seconds:.1f} s")
    print(f"index: {outcome.index_path} (the coordinator's view: every site's figures; not to be shared)")
    if handout:
        from ivig_kit.reports.runner.handout import write_handouts

        written = write_handouts(batch.out_dir, outcome.results, handout)
        print(f"hand-outs: {len(written)} zip(s) in {handout}, each with one site's own files")
    return 1 if failed else 0


def runners_notebook(notebook: Path | None) -> Path:
    """The site-report notebook a batch runs: ``notebook`` or the bundled one, resolved."""
    from ivig_kit.resources import notebook_path

    return Path(notebook or notebook_path("site_report.ipynb")).resolve()


def _start_runners(notebook: Path | None, jobs: int):
    """The batch's worker processes and kernel zygote, started before the registry is read so that their
    imports overlap its reading and scoring; ``None`` when the notebook is not a readable file (the batch's
    checks then say what is wrong, before anything runs)."""
    from ivig_kit.reports.runner.pool import LocalRunners
    from ivig_kit.resources import notebook_path

    path = runners_notebook(notebook)
    try:
        if not path.is_file():
            return None
        return LocalRunners(path, jobs, preload=(notebook_path("registry_report.ipynb"),))
    except OSError:
        return None
