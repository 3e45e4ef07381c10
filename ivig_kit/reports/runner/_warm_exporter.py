"""Imported by the batch's multiprocessing fork server as a preload: it builds the report exporter and exports
one small page there, so every worker forked from the server starts with nbconvert's templates compiled and
the regular expressions of its Markdown renderer built (about 0.5 s of CPU each worker paid on its first
site). The check on the command line makes the import do nothing in any other process.
"""

import contextlib

from ivig_kit.reports.runner.pages import warm_up_exporter
from ivig_kit.reports.runner.processes import in_fork_server

if in_fork_server():
    with contextlib.suppress(Exception):  # a warm-up that fails leaves each worker to do it on its first site
        warm_up_exporter()
