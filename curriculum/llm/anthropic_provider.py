"""``anthropic:<model>`` -- the Messages API through the official ``anthropic`` 2.x SDK.

Translation from the provider-neutral format:

* every system message goes into the top-level ``system`` parameter (joined by blank lines);
* tools become ``{name, description, input_schema}``; ``tool_choice`` is not sent (``auto``);
* an assistant message's ``tool_calls`` become ``tool_use`` blocks after its text;
  a tool message becomes a ``tool_result`` block in a user turn, and consecutive messages of
  the same role are merged into one turn (all results of one step travel together);
* ``temperature`` and ``seed`` are not sent: the 2.x Messages API has no such parameters;
* ``cache_prefix=True`` puts ``cache_control: {"type": "ephemeral"}`` on the system block
  (or, without a system prompt, on the last tool), and on the last block of the turn before
  the newest one, so tools + system + earlier turns are read from the cache on the next call.
  Usage reports ``cache_read_input_tokens`` (-> ``Usage.cached_tokens``) and
  ``cache_creation_input_tokens`` (-> ``Usage.cache_write_tokens``); ``Usage.input_tokens`` is
  their sum with the uncached ``input_tokens``.

The key comes from ``ANTHROPIC_API_KEY``; pass ``client=`` (an ``anthropic.Anthropic``, whose
http client must be an ``httpx2.Client``) to use your own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from .base import ChatModel, Generation, Request
from .errors import ConfigurationError, ProviderError
from .messages import system_text
from .pricing import PriceTable
from .resilience import status_error
from .types import ToolCall, Usage

__all__ = ["AnthropicModel", "anthropic_params", "anthropic_messages", "anthropic_tools"]

PROVIDER = "anthropic"
_TRANSIENT_STREAM_ERRORS = {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}
EPHEMERAL = {"type": "ephemeral"}


def _blocks(message: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    role = message["role"]
    if role == "tool":
        block: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": message["tool_call_id"],
            "content": message["content"],
        }
        if message.get("is_error"):
            block["is_error"] = True
        return "user", [block]
    blocks: list[dict[str, Any]] = []
    if message.get("content"):
        blocks.append({"type": "text", "text": message["content"]})
    for call in message.get("tool_calls") or []:
        blocks.append(
            {"type": "tool_use", "id": call["id"], "name": call["name"], "input": dict(call.get("arguments", {}))}
        )
    return role, blocks


def anthropic_messages(messages: list[dict[str, Any]], cache_history: bool = False) -> list[dict[str, Any]]:
    """Provider-neutral messages (system ones excluded) -> Messages API turns.

    A turn that is a single text block is sent as a plain string, as the API documents.
    With ``cache_history`` the last block of the second-to-last turn carries ``cache_control``.
    """
    turns: list[tuple[str, list[dict[str, Any]]]] = []
    for message in messages:
        if message["role"] == "system":
            continue
        role, blocks = _blocks(message)
        if not blocks:
            continue
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(blocks)
        else:
            turns.append((role, blocks))
    if cache_history and len(turns) >= 2:
        turns[-2][1][-1] = {**turns[-2][1][-1], "cache_control": dict(EPHEMERAL)}
    out = []
    for role, blocks in turns:
        if len(blocks) == 1 and blocks[0]["type"] == "text" and "cache_control" not in blocks[0]:
            out.append({"role": role, "content": blocks[0]["text"]})
        else:
            out.append({"role": role, "content": blocks})
    return out


def anthropic_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Provider-neutral tools -> Messages API tool definitions."""
    return [
        {
            "name": t["name"],
            "description": t.get("description", ""),
            "input_schema": t.get("parameters", {"type": "object", "properties": {}}),
        }
        for t in tools
    ]


def anthropic_params(model: str, request: Request) -> dict[str, Any]:
    """The keyword arguments for ``client.messages.create`` / ``client.messages.stream``."""
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": request.max_tokens,
        "messages": anthropic_messages(request.messages, cache_history=request.cache_prefix),
    }
    system = system_text(request.messages)
    if system:
        if request.cache_prefix:
            params["system"] = [{"type": "text", "text": system, "cache_control": dict(EPHEMERAL)}]
        else:
            params["system"] = system
    if request.tools:
        tools = anthropic_tools(request.tools)
        if request.cache_prefix and not system:
            tools[-1] = {**tools[-1], "cache_control": dict(EPHEMERAL)}
        params["tools"] = tools
    return params


def _usage(usage: Any) -> Usage:
    read = getattr(usage, "cache_read_input_tokens", None) or 0
    written = getattr(usage, "cache_creation_input_tokens", None) or 0
    return Usage(
        input_tokens=(usage.input_tokens or 0) + read + written,
        output_tokens=usage.output_tokens or 0,
        cached_tokens=read,
        cache_write_tokens=written,
    )


class AnthropicModel(ChatModel):
    """A hosted Anthropic model. Build it with ``get_model("anthropic:claude-haiku-4-5")``."""

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
        self.spec = f"anthropic:{model}"
        self.prices.price(PROVIDER, model)  # refuse an unpriced model before any call
        import anthropic

        self._sdk = anthropic
        if client is None:
            key = os.environ.get("ANTHROPIC_API_KEY")
            if not key:
                raise ConfigurationError(f"{self.spec} needs an API key: set ANTHROPIC_API_KEY (or pass client=)")
            client = anthropic.Anthropic(api_key=key, timeout=timeout, max_retries=0)
        else:
            client = client.with_options(max_retries=0)  # retries happen in curriculum.llm.resilience
        self.client = client

    def _error(self, exc: Exception) -> ProviderError:
        sdk = self._sdk
        if isinstance(exc, sdk.APITimeoutError):
            return ProviderError(f"anthropic timed out: {exc}", provider=PROVIDER, retryable=True, kind="timeout")
        if isinstance(exc, sdk.APIConnectionError):
            return ProviderError(f"anthropic unreachable: {exc}", provider=PROVIDER, retryable=True, kind="connection")
        if isinstance(exc, sdk.APIStatusError) and exc.status_code < 400:  # an error event inside a stream
            transient = getattr(exc, "type", None) in _TRANSIENT_STREAM_ERRORS
            return ProviderError(
                f"anthropic stream failed: {exc}", provider=PROVIDER, retryable=transient, kind="stream"
            )
        if isinstance(exc, sdk.APIStatusError):
            return status_error(PROVIDER, exc.status_code, exc.response.headers, str(exc))
        return ProviderError(f"anthropic failed: {exc}", provider=PROVIDER, kind="stream")

    def _events(self, request: Request) -> Iterator[str | Generation]:
        params = anthropic_params(self.model_name, request)
        try:
            if request.stream:
                with self.client.messages.stream(**params) as stream:
                    yield from stream.text_stream
                    message = stream.get_final_message()
            else:
                message = self.client.messages.create(**params)
        except self._sdk.AnthropicError as exc:
            raise self._error(exc) from exc
        yield self._generation(message)

    def _generation(self, message: Any) -> Generation:
        text = "".join(block.text for block in message.content if block.type == "text")
        calls = [
            ToolCall(id=block.id, name=block.name, arguments=dict(block.input or {}))
            for block in message.content
            if block.type == "tool_use"
        ]
        return Generation(
            text=text,
            tool_calls=calls,
            usage=_usage(message.usage),
            model=message.model or self.model_name,
            provider=PROVIDER,
            stop_reason=message.stop_reason,
            price_model=self.model_name,
        )
