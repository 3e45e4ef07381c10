"""The exact TIS engine: instrument facts (:mod:`.measures`), visit tables (:mod:`.visits`) and the
scoring itself (:mod:`.engine`). No display code lives here."""

from ivig_kit.score.engine import (
    CoreSetScore,
    absolute_percent_improvement,
    best_reachable_mmt_points,
    category,
    improvement_points,
    relative_percent_improvement,
    score_measure,
    total_improvement_score,
)
from ivig_kit.score.enzymes import enzyme_scale_range
from ivig_kit.score.measures import (
    CATEGORIES,
    CATEGORY_THRESHOLDS,
    CORE_SET,
    CORE_SETS,
    ENZYME_ULN,
    ENZYMES,
    INSTRUMENTS,
    MICRO,
    MMT_SCALES,
    POPULATIONS,
    SCALE_RANGE,
    CoreSetMeasure,
    EnzymeNormalisation,
    Instrument,
    to_micro,
)
from ivig_kit.score.pair import MeasureScore, score_pair
from ivig_kit.score.visits import read_visits, validate_visits

__all__ = ["CATEGORIES", "CATEGORY_THRESHOLDS", "CORE_SET", "CORE_SETS", "ENZYMES", "INSTRUMENTS", "Instrument", "ENZYME_ULN", "MICRO", "MMT_SCALES",
           "POPULATIONS", "SCALE_RANGE", "CoreSetMeasure", "CoreSetScore", "EnzymeNormalisation", "MeasureScore",
           "absolute_percent_improvement", "best_reachable_mmt_points", "category", "enzyme_scale_range",
           "improvement_points", "read_visits", "relative_percent_improvement", "score_measure", "score_pair",
           "to_micro", "total_improvement_score", "validate_visits"]
