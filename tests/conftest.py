"""Test configuration shared by every test: the offline environment, set before anything imports transformers."""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from curriculum.env import OFFLINE_ENV

for _key, _value in OFFLINE_ENV.items():
    os.environ.setdefault(_key, _value)

# shared test helpers (the browser driver, the providers' wire formats) are importable from every test folder
_SUPPORT = str(Path(__file__).parent / "support")
if _SUPPORT not in sys.path:
    sys.path.insert(0, _SUPPORT)


@pytest.fixture(scope="session")
def served():
    """The shared local model server's state (``base_url``, ``pid``, ``port``): attached to, or started and
    stopped by this session."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python[server] is not installed: `make setup` builds it")
    from curriculum.llm.local import ensure_server, stop_server

    state, started = ensure_server(progress=False)
    yield state
    if started:
        stop_server()
