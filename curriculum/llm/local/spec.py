"""``local:smollm2``: the bundled SmolLM2-135M-Instruct, served by llama.cpp on 127.0.0.1, as a chat model.

Building the model attaches to the shared server (``aie model serve``, or one an earlier caller started in
the background) or starts it; the model itself is the same :class:`~curriculum.llm.openai_provider.OpenAIModel`
that talks to the hosted API, pointed at the local base URL, speaking llama.cpp's dialect and validating
every tool call and JSON answer against its schema. With tools, ``tool_choice`` defaults to ``auto``
(the model answers or calls a tool; :mod:`.tools` says how that is constrained); name a tool to force
a call to it.

Example::

    >>> model = get_model("local:smollm2")                         # doctest: +SKIP
    >>> model.complete([{"role": "user", "content": "Say hi"}], max_tokens=8).provider   # doctest: +SKIP
    'local'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..openai_provider import OpenAIModel
from ..pricing import PriceTable
from .server import MODEL_ALIAS, ensure_server
from .weights import prepare_model, token_counter

__all__ = ["local_model"]


def local_model(
    name: str = "smollm2",
    *,
    client: Any = None,
    timeout: float = 60.0,
    prices: PriceTable | None = None,
    base_url: str | None = None,
    tool_choice: str | None = None,
    json_schema: dict[str, Any] | None = None,
    strict: bool | None = None,
) -> OpenAIModel:
    """The served model ``name`` (``base_url`` names a server already running; else the shared one is used)."""
    server = None
    if base_url is None and client is None:
        server, _ = ensure_server()
        base_url = server.base_url
    gguf = Path(server.gguf) if server is not None else prepare_model(progress=False).gguf
    model = OpenAIModel(
        MODEL_ALIAS,
        client=client,
        timeout=timeout,
        prices=prices,
        base_url=base_url,
        tool_choice=tool_choice or "auto",
        json_schema=json_schema,
        strict=True if strict is None else strict,
        dialect="llama.cpp",
        spec=f"local:{name}",
        count_tokens=token_counter(gguf),
    )
    model.server = server
    return model
