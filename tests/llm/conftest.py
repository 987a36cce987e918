"""Shared fixtures of the model-layer tests.

The hosted providers are exercised through their official SDK clients; the only test double
is the HTTP transport underneath (``httpx.MockTransport`` for openai, ``httpx2.MockTransport``
for anthropic), which answers like the real API and records the exact requests sent
(see ``tests/support/llm_wire.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from llm_wire import Recorder  # tests/support, put on sys.path by tests/conftest.py


@pytest.fixture(scope="session")
def warm_embedder():
    """Load the embedding model once for the whole session."""
    from curriculum.embeddings import embed

    embed(["warm up the embedder"])
    return embed


@pytest.fixture
def no_api_keys(monkeypatch):
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "AIE_MODEL", "AIE_MODEL_FALLBACK"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def openai_sdk(no_api_keys) -> Callable[..., tuple[Any, Recorder]]:
    """``make(*responses) -> (openai.OpenAI client, recorder)`` over a mock httpx transport."""
    import httpx
    import openai

    def make(*responses: Any) -> tuple[Any, Recorder]:
        recorder = Recorder(httpx, list(responses))
        client = openai.OpenAI(
            api_key="sk-test-openai",
            http_client=httpx.Client(transport=httpx.MockTransport(recorder)),
        )
        return client, recorder

    return make


@pytest.fixture
def anthropic_sdk(no_api_keys) -> Callable[..., tuple[Any, Recorder]]:
    """``make(*responses) -> (anthropic.Anthropic client, recorder)`` over a mock httpx2 transport."""
    import anthropic
    import httpx2

    def make(*responses: Any) -> tuple[Any, Recorder]:
        recorder = Recorder(httpx2, list(responses))
        client = anthropic.Anthropic(
            api_key="sk-ant-test",
            http_client=httpx2.Client(transport=httpx2.MockTransport(recorder)),
        )
        return client, recorder

    return make
