"""The two published trials (the pilot, ProDERM) and the follow-on design: published facts with
sources (:mod:`.facts`), the reconstructed pilot cohort, the reanalyses and their figures."""

from ivig_kit.trials.facts import (
    published_count,
    published_fact,
    published_facts,
    published_value,
    read_published_facts,
)

__all__ = ["published_count", "published_fact", "published_facts", "published_value", "read_published_facts"]
