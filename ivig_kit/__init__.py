"""ivig-kit: the 2016 ACR/EULAR Total Improvement Score (TIS) for myositis, taught, applied to two
IVIg trials and run as per-site reports.

The public API is the scoring engine and its input table; everything else lives in the
subpackages named after their audience: :mod:`ivig_kit.score` (the exact engine),
:mod:`ivig_kit.inference` (statistics), :mod:`ivig_kit.trials` (the published trials),
:mod:`ivig_kit.teaching` (lessons and the calculator) and :mod:`ivig_kit.reports` (site reports).

Examples
--------
>>> import ivig_kit
>>> ivig_kit.category(47.5, "adult")
'moderate'
"""

from importlib.metadata import PackageNotFoundError, version

import lazy_loader

try:
    __version__ = version("ivig-kit")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

# The public names are imported on first use, so `import ivig_kit` (and the command line, which handles
# Ctrl-C from its first moment) does not wait for pandas.
__getattr__, _, _exported = lazy_loader.attach(
    __name__,
    submod_attrs={
        "errors": ["InputError"],
        "score.engine": ["category", "total_improvement_score"],
        "score.measures": ["CORE_SET", "POPULATIONS", "CoreSetMeasure", "EnzymeNormalisation"],
        "score.pair": ["score_pair"],
        "score.visits": ["read_visits", "validate_visits"],
    },
)
__all__ = sorted([*_exported, "__version__"])


def __dir__() -> list[str]:
    return __all__
