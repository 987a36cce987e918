"""The worked examples in the model layer's docstrings still hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "curriculum.llm.text",
    "curriculum.llm.tokens",
    "curriculum.llm.types",
    "curriculum.llm.messages",
    "curriculum.llm.pricing",
    "curriculum.llm.resilience",
    "curriculum.llm.factory",
    "curriculum.llm.local.schema",
    "curriculum.llm.local.tools",
    "curriculum.llm.base",
    "curriculum.llm.offline",
    "curriculum.embeddings",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, no_api_keys, warm_embedder):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
