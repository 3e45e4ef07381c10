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

from ivig_kit.errors import InputError
from ivig_kit.score.engine import category, total_improvement_score
from ivig_kit.score.measures import (
    CORE_SET,
    POPULATIONS,
    CoreSetMeasure,
    EnzymeNormalisation,
)
from ivig_kit.score.pair import score_pair
from ivig_kit.score.visits import read_visits, validate_visits

try:
    __version__ = version("ivig-kit")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["CORE_SET", "POPULATIONS", "CoreSetMeasure", "EnzymeNormalisation", "InputError", "__version__",
           "category", "read_visits", "score_pair", "total_improvement_score", "validate_visits"]
