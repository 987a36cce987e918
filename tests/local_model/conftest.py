"""The real model server, started once per test session (or attached to, when one already runs).

``ensure_server`` is the same call ``local:smollm2`` makes: it attaches to the server named by the
state file under ``.aie/run`` (a foreground ``aie model serve``, or a background one started earlier)
and starts one otherwise; a server this session started is stopped when the session ends. Nothing here
mocks the server: every test talks HTTP to llama.cpp's server through the official ``openai`` SDK.
"""

from __future__ import annotations

import pytest

CHAT = [{"role": "user", "content": "What is Python?"}]


@pytest.fixture
def sdk(served):
    """An official ``openai.OpenAI`` client pointed at the served model."""
    import openai

    return openai.OpenAI(base_url=served.base_url, api_key="not-needed-on-loopback", max_retries=0, timeout=120)


@pytest.fixture
def clean_model_env(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AIE_MODEL", "AIE_MODEL_FALLBACK"):
        monkeypatch.delenv(name, raising=False)
