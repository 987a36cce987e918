"""The one interface every model offers, and the bookkeeping shared by all of them.

A provider implements :meth:`ChatModel._events`: it receives a checked :class:`Request` and
yields text deltas (only when ``request.stream``) followed by exactly one :class:`Generation`.
:class:`ChatModel` turns that into the public calls: ``complete`` (with an ``on_token``
callback when streaming), ``stream`` (an iterator of deltas) and ``estimate_cost``; it times
the call and prices the usage.

Example::

    >>> from curriculum.llm import get_model
    >>> model = get_model("offline")
    >>> pieces = []
    >>> done = model.complete([{"role": "user", "content": "Hello"}], stream=True, on_token=pieces.append)
    >>> "".join(pieces) == done.text
    True
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InvalidRequestError
from .messages import validate_messages, validate_tools
from .pricing import PriceTable, default_price_table
from .tokens import count_tokens
from .types import Completion, ToolCall, Usage

__all__ = ["Request", "Generation", "ChatModel", "CompletionStream"]


@dataclass(frozen=True)
class Request:
    """A checked call: provider-neutral messages and tools plus the generation settings."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None
    max_tokens: int
    temperature: float
    stream: bool
    cache_prefix: bool
    seed: int | None = None


@dataclass(frozen=True)
class Generation:
    """What a provider produced, before timing and pricing.

    ``model`` is the name the provider reported; ``price_model`` the name to price (the
    requested one, which is what the price table was checked against).
    """

    text: str
    tool_calls: list[ToolCall]
    usage: Usage
    model: str
    provider: str
    stop_reason: str | None
    price_model: str


class ChatModel(ABC):
    """Base class of every model: offline, hosted, local, and the resilience wrappers."""

    provider: str = ""
    model_name: str = ""
    spec: str = ""

    def __init__(self, *, prices: PriceTable | None = None) -> None:
        self.prices = prices or default_price_table()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec}>"

    # -- what providers implement -------------------------------------------------------------
    @abstractmethod
    def _events(self, request: Request) -> Iterator[str | Generation]:
        """Yield text deltas (only when ``request.stream``), then one :class:`Generation`."""

    # -- the public calls ---------------------------------------------------------------------
    def complete(
        self,
        messages: Sequence[dict[str, Any]],
        tools: Sequence[dict[str, Any]] | None = None,
        max_tokens: int = 512,
        temperature: float = 0.0,
        stream: bool = False,
        cache_prefix: bool = False,
        on_token: Callable[[str], None] | None = None,
        seed: int | None = None,
    ) -> Completion:
        """Run one model turn and return its :class:`Completion`.

        With ``stream=True`` each text delta is passed to ``on_token`` as it arrives; the
        returned Completion still holds the whole text. ``cache_prefix=True`` asks the provider
        to cache the stable prefix (tools, system prompt, earlier turns) where it supports that.
        ``seed`` fixes the sampling of a call at ``temperature > 0`` where the provider takes one
        (OpenAI and compatible servers: llama.cpp, vLLM, Ollama); OpenAI calls it best effort, and
        Anthropic's API has none, so it is not sent there. Greedy providers do not need one.
        """
        request = self._request(messages, tools, max_tokens, temperature, stream, cache_prefix, seed)
        start = time.perf_counter()
        generation: Generation | None = None
        for event in self._events(request):
            if isinstance(event, Generation):
                generation = event
            elif stream and on_token is not None and event:
                on_token(event)
        if generation is None:  # a provider bug, not a user error
            raise RuntimeError(f"{self.spec}: provider produced no result")
        return self._completion(generation, (time.perf_counter() - start) * 1000)

    def stream(
        self,
        messages: Sequence[dict[str, Any]],
        tools: Sequence[dict[str, Any]] | None = None,
        max_tokens: int = 512,
        temperature: float = 0.0,
        cache_prefix: bool = False,
        seed: int | None = None,
    ) -> CompletionStream:
        """Iterate over the text deltas of one turn; ``.completion`` holds the result afterwards."""
        request = self._request(messages, tools, max_tokens, temperature, True, cache_prefix, seed)
        return CompletionStream(self, request)

    def estimate_cost(
        self,
        messages: Sequence[dict[str, Any]],
        max_tokens: int = 512,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> float:
        """USD an upper-bound call would cost: the prompt's tokens plus ``max_tokens`` of output.

        The prompt is counted with cl100k (see :mod:`curriculum.llm.tokens`), so for providers
        with another tokenizer it is an estimate; the capstone reserves budget with it.
        """
        usage = Usage(input_tokens=count_tokens(list(messages), tools), output_tokens=max_tokens)
        return self.prices.cost(self.provider, self.model_name, usage)

    # -- shared plumbing ----------------------------------------------------------------------
    def _request(self, messages, tools, max_tokens, temperature, stream, cache_prefix, seed=None) -> Request:
        validate_messages(messages)
        validate_tools(tools)
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            raise InvalidRequestError(f"max_tokens must be a positive int (got {max_tokens!r})")
        if not 0.0 <= float(temperature) <= 2.0:
            raise InvalidRequestError(f"temperature must be between 0 and 2 (got {temperature!r})")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**31):
            raise InvalidRequestError(f"seed must be an int in [0, 2**31) or None (got {seed!r})")
        return Request(
            messages=[dict(m) for m in messages],
            tools=[dict(t) for t in tools] if tools else None,
            max_tokens=max_tokens,
            temperature=float(temperature),
            stream=bool(stream),
            cache_prefix=bool(cache_prefix),
            seed=seed,
        )

    def _completion(self, generation: Generation, latency_ms: float) -> Completion:
        cost = self.prices.cost(generation.provider, generation.price_model, generation.usage)
        return Completion(
            text=generation.text,
            tool_calls=list(generation.tool_calls),
            usage=generation.usage,
            cost_usd=cost,
            model=generation.model,
            latency_ms=latency_ms,
            stop_reason=generation.stop_reason,
            provider=generation.provider,
        )


class CompletionStream:
    """Iterator over text deltas; after it is exhausted ``completion`` holds the Completion.

    ``first_token_ms`` is the time to the first non-empty delta (None when there was none).

    Example::

        stream = model.stream(messages)
        for delta in stream:
            print(delta, end="", flush=True)
        print(stream.completion.usage)
    """

    def __init__(self, model: ChatModel, request: Request) -> None:
        self._model = model
        self._request = request
        self._completion: Completion | None = None
        self._started = False
        self.first_token_ms: float | None = None

    def __iter__(self) -> Iterator[str]:
        if self._started:
            raise RuntimeError("a CompletionStream can be iterated only once")
        self._started = True
        start = time.perf_counter()
        generation: Generation | None = None
        for event in self._model._events(self._request):
            if isinstance(event, Generation):
                generation = event
            elif event:
                if self.first_token_ms is None:
                    self.first_token_ms = (time.perf_counter() - start) * 1000
                yield event
        if generation is None:
            raise RuntimeError(f"{self._model.spec}: provider produced no result")
        self._completion = self._model._completion(generation, (time.perf_counter() - start) * 1000)

    @property
    def completion(self) -> Completion:
        """The finished Completion; reading it before the end consumes the rest of the stream."""
        if self._completion is None:
            if not self._started:
                for _ in self:
                    pass
            else:
                raise RuntimeError("the stream was not read to the end")
        assert self._completion is not None
        return self._completion
