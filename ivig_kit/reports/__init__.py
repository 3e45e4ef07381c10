"""Per-site reports: two programs in two folders.

- :mod:`.content` runs inside a report kernel: :mod:`~.content.parameters` (the notebook's contract and the
  minimum cell size), :mod:`~.content.site` (one site's slice and the pooled summary), :mod:`~.content.tables`,
  :mod:`~.content.figures`, :mod:`~.content.summary` (the JSON summary and provenance),
  :mod:`~.content.display` (the one rendering path: escaped, captioned) and :mod:`~.content.json_values`
  (the one numpy-to-JSON converter). It never imports the runner.
- :mod:`.runner` is the batch around the kernels: :mod:`~.runner.tasks` (what a site's run needs and returns,
  the cell time-out), :mod:`~.runner.prepare` (validate and score once), :mod:`~.runner.params_file`
  (``--params``), :mod:`~.runner.batch` (run, interrupts), :mod:`~.runner.worker` (one site),
  :mod:`~.runner.ledger` (lock, index ledger, stale files), :mod:`~.runner.pages` (a report's HTML),
  :mod:`~.runner.index_page` (the index), :mod:`~.runner.pdf` (printing to PDF), :mod:`~.runner.file_names`
  (the kit's own file names), :mod:`~.runner.notebook_file` (reading notebooks with ``ast``),
  :mod:`~.runner.processes` (process ownership), :mod:`~.runner.kernels` (start a kernel for a notebook, stop
  it, close), and behind it :mod:`~.runner.zygote` (the warm fork server) and :mod:`~.runner.provisioner`
  (jupyter_client's launch hook that asks it for a kernel). It never imports pyplot.

The face, loaded on first use (so a kernel importing :mod:`.content` does not load the runner):
:func:`prepare_batch`, :func:`run_batch` and :func:`load_site`.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "runner.prepare": ["prepare_batch"],
        "runner.batch": ["run_batch"],
        "content.site": ["load_site"],
    },
)
