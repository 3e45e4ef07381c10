"""What a site's run needs and returns: safe file names, the injected parameters, the ledger row."""

from __future__ import annotations

import re

import pytest

from ivig_kit.reports.runner import (
    tasks,
)


@pytest.mark.parametrize("site, expected_stem", [
    ("Amsterdam", "amsterdam"), ("Nijmegen UMC", "nijmegen-umc"), ("Zürich", "zurich"), ("a/b", "a-b"),
    ("../up", "up"), ("..", "site"), ("007", "007"), ("東京", "site"), ("C:\\x\\y", "c-x-y"),
])
def test_site_slug_is_safe_ascii_with_a_hash(site, expected_stem):
    slug = tasks.site_slug(site)
    stem, digest = slug.rsplit("-", 1)
    assert stem == expected_stem
    assert re.fullmatch(r"[0-9a-f]{8}", digest)
    assert re.fullmatch(r"[a-z0-9-]+", slug) and ".." not in slug and "/" not in slug


def test_sites_that_simplify_alike_get_different_names():
    names = ["a/b", "a b", "A B", "a_b", "a-b", "Zürich", "Zurich", "zurich"]
    slugs = {tasks.site_slug(name) for name in names}
    assert len(slugs) == len(names)
    assert tasks.site_slug("a/b") == tasks.site_slug("a/b")  # stable from run to run
