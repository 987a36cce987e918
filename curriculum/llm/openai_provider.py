"""``openai:<model>`` -- the Chat Completions API through the official ``openai`` 2.x SDK.

Translation from the provider-neutral format:

* system messages stay ``{"role": "system"}`` messages, in place;
* tools become ``{"type": "function", "function": {name, description, parameters}}``;
  ``tool_choice`` is not sent (the API's default, ``auto``);
* an assistant message's ``tool_calls`` become ``function`` tool calls with JSON-text arguments,
  and a tool message becomes ``{"role": "tool", "tool_call_id", "content"}``;
* ``max_tokens`` is sent as ``max_completion_tokens``; ``temperature`` is sent except to the
  reasoning models (o1/o3/o4/gpt-5 families), which accept only their default;
* ``cache_prefix=True`` sends a ``prompt_cache_key`` derived from the system prompt and tools,
  so calls sharing that prefix are routed to the same cache (OpenAI caches prompt prefixes of
  1024+ tokens by itself); the cached count comes back in
  ``usage.prompt_tokens_details.cached_tokens``;
* ``stream=True`` asks for ``stream_options.include_usage`` so usage arrives in the last chunk.

The key comes from ``OPENAI_API_KEY``; pass ``client=`` (an ``openai.OpenAI``) to use your own.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from typing import Any

from .base import ChatModel, Generation, Request
from .errors import ConfigurationError, ProviderError
from .messages import system_text
from .pricing import PriceTable
from .resilience import status_error
from .types import ToolCall, Usage

__all__ = ["OpenAIModel", "openai_params", "openai_messages", "openai_tools", "parse_arguments"]

PROVIDER = "openai"
_TRANSIENT_STREAM_ERRORS = {"server_error", "rate_limit_error", "timeout"}
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use"}


def openai_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Provider-neutral messages -> Chat Completions messages."""
    out: list[dict[str, Any]] = []
    for m in messages:
        role = m["role"]
        if role in ("system", "user"):
            out.append({"role": role, "content": m["content"]})
        elif role == "assistant":
            calls = m.get("tool_calls") or []
            message: dict[str, Any] = {"role": "assistant", "content": (m.get("content") or None) if calls else m["content"]}
            if calls:
                message["tool_calls"] = [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {"name": c["name"], "arguments": json.dumps(c.get("arguments", {}))},
                    }
                    for c in calls
                ]
            out.append(message)
        else:
            out.append({"role": "tool", "tool_call_id": m["tool_call_id"], "content": m["content"]})
    return out


def openai_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Provider-neutral tools -> Chat Completions function tools."""
    return [
        {
            "type": "function",
            "function": {
                "name": t["name"],
                "description": t.get("description", ""),
                "parameters": t.get("parameters", {"type": "object", "properties": {}}),
            },
        }
        for t in tools
    ]


def prefix_cache_key(request: Request) -> str:
    """A stable key for the cacheable prefix: the system prompt and the tools."""
    prefix = json.dumps([system_text(request.messages), request.tools or []], sort_keys=True)
    return "aie-" + hashlib.sha256(prefix.encode()).hexdigest()[:32]


def openai_params(model: str, request: Request) -> dict[str, Any]:
    """The keyword arguments for ``client.chat.completions.create``."""
    params: dict[str, Any] = {
        "model": model,
        "messages": openai_messages(request.messages),
        "max_completion_tokens": request.max_tokens,
    }
    if not model.startswith(_REASONING_PREFIXES):
        params["temperature"] = request.temperature
    if request.tools:
        params["tools"] = openai_tools(request.tools)
    if request.cache_prefix:
        params["prompt_cache_key"] = prefix_cache_key(request)
    if request.stream:
        params["stream"] = True
        params["stream_options"] = {"include_usage": True}
    return params


def parse_arguments(text: str | None) -> dict[str, Any]:
    """Decode a tool call's JSON arguments; text that is not a JSON object is kept under ``_raw``."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {"_raw": text}
    return value if isinstance(value, dict) else {"_raw": text}


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    details = getattr(usage, "prompt_tokens_details", None)
    return Usage(
        input_tokens=usage.prompt_tokens or 0,
        output_tokens=usage.completion_tokens or 0,
        cached_tokens=(getattr(details, "cached_tokens", None) or 0) if details else 0,
        cache_write_tokens=(getattr(details, "cache_write_tokens", None) or 0) if details else 0,
    )


class OpenAIModel(ChatModel):
    """A hosted OpenAI model. Build it with ``get_model("openai:gpt-4o-mini")``."""

    provider = PROVIDER

    def __init__(
        self,
        model: str,
        *,
        client: Any = None,
        timeout: float = 60.0,
        prices: PriceTable | None = None,
    ) -> None:
        super().__init__(prices=prices)
        self.model_name = model
        self.spec = f"openai:{model}"
        self.prices.price(PROVIDER, model)  # refuse an unpriced model before any call
        import openai

        self._sdk = openai
        if client is None:
            key = os.environ.get("OPENAI_API_KEY")
            if not key:
                raise ConfigurationError(f"{self.spec} needs an API key: set OPENAI_API_KEY (or pass client=)")
            client = openai.OpenAI(api_key=key, timeout=timeout, max_retries=0)
        else:
            client = client.with_options(max_retries=0)  # retries happen in curriculum.llm.resilience
        self.client = client

    def _error(self, exc: Exception) -> ProviderError:
        sdk = self._sdk
        if isinstance(exc, sdk.APITimeoutError):
            return ProviderError(f"openai timed out: {exc}", provider=PROVIDER, retryable=True, kind="timeout")
        if isinstance(exc, sdk.APIConnectionError):
            return ProviderError(f"openai unreachable: {exc}", provider=PROVIDER, retryable=True, kind="connection")
        if isinstance(exc, sdk.APIStatusError) and exc.status_code < 400:  # an error event inside a stream
            transient = getattr(exc, "type", None) in _TRANSIENT_STREAM_ERRORS
            return ProviderError(f"openai stream failed: {exc}", provider=PROVIDER, retryable=transient, kind="stream")
        if isinstance(exc, sdk.APIStatusError):
            return status_error(PROVIDER, exc.status_code, exc.response.headers, str(exc))
        return ProviderError(f"openai failed: {exc}", provider=PROVIDER, kind="stream")

    def _events(self, request: Request) -> Iterator[str | Generation]:
        params = openai_params(self.model_name, request)
        try:
            if request.stream:
                yield from self._streamed(params)
            else:
                yield self._generation(self.client.chat.completions.create(**params))
        except self._sdk.OpenAIError as exc:
            raise self._error(exc) from exc

    def _generation(self, response: Any) -> Generation:
        choice = response.choices[0]
        message = choice.message
        calls = [
            ToolCall(id=c.id, name=c.function.name, arguments=parse_arguments(c.function.arguments))
            for c in (message.tool_calls or [])
            if getattr(c, "function", None) is not None
        ]
        return Generation(
            text=message.content or "",
            tool_calls=calls,
            usage=_usage(response.usage),
            model=response.model or self.model_name,
            provider=PROVIDER,
            stop_reason=_STOP_REASONS.get(choice.finish_reason, choice.finish_reason),
            price_model=self.model_name,
        )

    def _streamed(self, params: dict[str, Any]) -> Iterator[str | Generation]:
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        usage = None
        finish = None
        model = self.model_name
        with self.client.chat.completions.create(**params) as chunks:
            for chunk in chunks:
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices:
                    delta = choice.delta
                    if delta.content:
                        text.append(delta.content)
                        yield delta.content
                    for call in delta.tool_calls or []:
                        slot = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                        slot["id"] = call.id or slot["id"]
                        if call.function is not None:
                            slot["name"] += call.function.name or ""
                            slot["arguments"] += call.function.arguments or ""
                    finish = choice.finish_reason or finish
        yield Generation(
            text="".join(text),
            tool_calls=[
                ToolCall(id=c["id"], name=c["name"], arguments=parse_arguments(c["arguments"]))
                for _, c in sorted(calls.items())
            ],
            usage=_usage(usage),
            model=model,
            provider=PROVIDER,
            stop_reason=_STOP_REASONS.get(finish, finish),
            price_model=self.model_name,
        )
