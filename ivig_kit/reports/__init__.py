"""Per-site reports. Inside a report kernel: :mod:`.parameters`, :mod:`.site`, :mod:`.tables`,
:mod:`.figures`, :mod:`.summary`, :mod:`.display`. The runner: :mod:`.tasks`, :mod:`.batch`,
:mod:`.kernels`, :mod:`.pages`. Kernel-side modules never import the runner, and the runner never
imports pyplot, so this package imports nothing itself."""
