"""The exact TIS engine: instrument facts (:mod:`.measures`), visit tables (:mod:`.visits`) and the
scoring itself (:mod:`.engine`). No display code lives here."""

import lazy_loader

# Imported on first use: the instrument facts (numpy only) do not wait for the engine's pandas.
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "engine": [
            "CoreSetScore",
            "absolute_percent_improvement",
            "best_reachable_mmt_points",
            "category",
            "improvement_points",
            "relative_percent_improvement",
            "score_measure",
            "total_improvement_score",
        ],
        "core_set_instruments": ["CORE_SETS", "INSTRUMENTS", "Instrument"],
        "enzymes": ["enzyme_scale_range"],
        "measures": [
            "CATEGORIES",
            "CATEGORY_THRESHOLDS",
            "CORE_SET",
            "ENZYME_ULN",
            "ENZYMES",
            "MICRO",
            "MMT_SCALES",
            "POPULATIONS",
            "SCALE_RANGE",
            "CoreSetMeasure",
            "EnzymeNormalisation",
            "to_micro",
        ],
        "pair": ["MeasureScore", "score_pair"],
        "visits": ["read_visits", "validate_visits"],
    },
)
