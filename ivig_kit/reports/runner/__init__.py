"""The batch around the report kernels: :mod:`.tasks` (what a site's run needs and returns),
:mod:`.prepare` (validate and score once, per-site parameters), :mod:`.params_file` (``--params``),
:mod:`.batch` (run, interrupts), :mod:`.worker` (one site), :mod:`.kernels` (the kernel zygote),
:mod:`.ledger` (lock, index ledger, stale files) and :mod:`.pages` (HTML, PDF, index). Never imports
pyplot."""
