"""Per-site reports: two programs in two folders.

- :mod:`.content` runs inside a report kernel: the notebook's parameters, the site's slice and its
  tables, figures, summary and rendering. It never imports the runner.
- :mod:`.runner` is the batch around the kernels: tasks, preparation (validate and score once),
  ``--params`` files, the batch and its workers, the ledger, pages (HTML, PDF, index), reading
  notebook files, process ownership and the kernels. It never imports pyplot.

This package imports nothing itself, so a kernel importing :mod:`.content` does not load the runner.
"""
