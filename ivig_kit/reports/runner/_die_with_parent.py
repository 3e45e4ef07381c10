"""Imported by the batch's multiprocessing fork server as a preload, so it dies with the batch.

Importing this module in the fork server asks Linux to SIGKILL it when its parent (the batch) dies
(``prctl(PR_SET_PDEATHSIG)``): it would otherwise outlive a SIGKILLed batch, together with the workers it
forked. The check on the command line makes the import do nothing in any other process.
"""

from ivig_kit.reports.runner.processes import die_with_parent, in_fork_server

if in_fork_server():
    die_with_parent()
