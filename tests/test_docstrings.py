"""The examples in the public docstrings run and give what they say (numpydoc ``Examples`` sections)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import ivig_kit

KERNEL_FREE = [
    m.name
    for m in pkgutil.walk_packages(ivig_kit.__path__, "ivig_kit.")
    if not m.name.endswith(("__main__", ".kernels", ".batch", ".calculator"))
]


@pytest.mark.parametrize("module_name", KERNEL_FREE)
def test_docstring_examples_run(module_name):
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{module_name}: {result.failed} of {result.attempted} docstring examples failed"


def test_public_api_is_documented_and_exported():
    assert ivig_kit.__version__ and set(ivig_kit.__all__) <= set(dir(ivig_kit))
    examples = sum(
        doctest.testmod(importlib.import_module(name), verbose=False).attempted
        for name in (
            "ivig_kit",
            "ivig_kit.score.engine",
            "ivig_kit.score.measures",
            "ivig_kit.inference.proportions",
            "ivig_kit.teaching.patients",
            "ivig_kit.teaching.plain_numbers",
            "ivig_kit.exercises",
        )
    )
    assert examples >= 8
