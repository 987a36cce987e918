"""The real model server, started once per test session (or attached to, when one already runs).

``ensure_server`` is the same call ``local:smollm2`` makes: it attaches to the server named by the
state file under ``.aie/run`` (a foreground ``aie model serve``, or a background one started earlier)
and starts one otherwise; a server this session started is stopped when the session ends. Nothing here
mocks the server: every test talks HTTP to llama.cpp's server through the official ``openai`` SDK.
"""

from __future__ import annotations

import importlib.util

import pytest

CHAT = [{"role": "user", "content": "What is Python?"}]


@pytest.fixture(scope="session")
def served():
    """The shared server's state (``base_url``, ``pid``, ``port``)."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python[server] is not installed: `make setup` builds it")
    from curriculum.llm.local import ensure_server, stop_server

    state, started = ensure_server(progress=False)
    yield state
    if started:
        stop_server()


@pytest.fixture
def sdk(served):
    """An official ``openai.OpenAI`` client pointed at the served model."""
    import openai

    return openai.OpenAI(base_url=served.base_url, api_key="not-needed-on-loopback", max_retries=0, timeout=120)


@pytest.fixture
def clean_model_env(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AIE_MODEL", "AIE_MODEL_FALLBACK"):
        monkeypatch.delenv(name, raising=False)
