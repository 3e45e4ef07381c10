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

import lazy_loader

# The public names are imported on first use, so `import ivig_kit` (and the command line, which handles
# Ctrl-C from its first moment) does not wait for pandas.
_public, _, _exported = lazy_loader.attach(
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


def __getattr__(name: str):
    if name == "__version__":  # read on first use: importlib.metadata costs every process that imports us 0.1 s
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("ivig-kit")
        except PackageNotFoundError:  # running from a source tree that was never installed
            found = "0+unknown"
        globals()["__version__"] = found
        return found
    return _public(name)


def __dir__() -> list[str]:
    return __all__
