"""The two published trials: the reconstructed pilot cohort (:mod:`.reconstruct`), the reanalyses
(:mod:`.pilot`, :mod:`.proderm`, the sponsor's p value :mod:`.sponsor_p_value`), thromboembolic events
(:mod:`.thromboembolism`), their figures and exercises. The published facts they use live in
:mod:`ivig_kit.facts`; their names are re-exported here for the notebooks."""

from ivig_kit.facts import (
    published_count,
    published_fact,
    published_facts,
    published_value,
    read_published_facts,
)

__all__ = ["published_count", "published_fact", "published_facts", "published_value", "read_published_facts"]
